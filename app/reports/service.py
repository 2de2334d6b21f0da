"""The report domain: submit, look up by receipt code, reply, withdraw.

Services take a session and plain values, flush but never commit: the caller's
transaction decides. Everything is validated before the first write, so a refused
submission leaves nothing behind.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from functools import cache
from typing import Any, NamedTuple

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import LargeBinary, String, bindparam, func, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import Session, col, delete, or_, select

from app import receipts
from app.crypto import Crypto, FieldCipher
from app.db import coarse_now
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.identifiers import IdentifierKind, InvalidIdentifier, normalise
from app.regions import service as regions_service
from app.reports.models import (
    CATEGORY_URGENCY,
    PURPOSE_DESCRIPTION,
    PURPOSE_IDENTIFIER,
    PURPOSE_MESSAGE,
    PURPOSE_TEXT,
    TRANSITIONS,
    MessageAuthor,
    PerpetratorIn,
    QuestionPublic,
    Report,
    ReportCreate,
    ReportIdentifier,
    ReportMessage,
    ReportStatus,
    ReportStatusPublic,
)
from app.retention import Policy

# (kind, field of PerpetratorIn)
IDENTIFIER_FIELDS = (
    (IdentifierKind.phone, "phones"),
    (IdentifierKind.email, "emails"),
    (IdentifierKind.plate, "plates"),
    (IdentifierKind.handle, "handles"),
)

NOT_FOUND = "No report matches this receipt code."
WITHDRAWABLE = {ReportStatus.submitted, ReportStatus.in_review, ReportStatus.needs_info}


class AlreadySubmitted(Conflict):
    """The same form was sent twice (a double tap, a reload): the first one counts."""

    def __init__(self) -> None:
        super().__init__("This form was already submitted; use the receipt code shown then.")


class _Prepared(NamedTuple):
    """A report ready to store: its row, its identifiers' rows (report_id to be filled
    in), the receipt code to show once, and what is wrong with its identifiers."""

    report: dict[str, Any]
    identifiers: list[dict[str, Any]]
    code: str
    errors: list[FieldError]


def _prepare(
    data: ReportCreate, crypto: Crypto, default_region: str, token_hash: bytes | None = None
) -> _Prepared:
    """Everything about storing a report that needs no database: normalise, encrypt, hash."""
    identifiers, errors = _normalise_identifiers(data.perpetrator, default_region)
    code = receipts.new_code()
    cipher = crypto.cipher
    report = {
        "receipt_hash": crypto.index.digest("receipt", receipts.normalise(code) or ""),
        "form_token_hash": token_hash,
        "status": ReportStatus.submitted.value,
        "region_code": data.region.strip().upper(),
        "incident_date": data.incident_date,
        "part_of_day": data.part_of_day.value,
        "categories": [c.value for c in data.categories],
        "urgency": max(CATEGORY_URGENCY[c] for c in data.categories),
        "what_happened_enc": _encrypt_optional(cipher, data.what_happened, PURPOSE_TEXT),
        "perpetrator_description_enc": _encrypt_optional(
            cipher, data.perpetrator.description, PURPOSE_DESCRIPTION
        ),
        "consent_police": data.consent_police,
        "language": data.language.value,
        "submitted_at": coarse_now(),
        "version": 1,
    }
    rows = [
        {
            "kind": kind.value,
            "value_enc": cipher.encrypt(value, purpose=PURPOSE_IDENTIFIER),
            "blind_index": crypto.index.digest(kind.value, value),
        }
        for kind, value in identifiers
    ]
    return _Prepared(report, rows, code, errors)


def submit(
    session: Session,
    *,
    data: ReportCreate,
    crypto: Crypto,
    default_region: str,
    form_token: str | None = None,
) -> tuple[int, str]:
    """Validate, encrypt and store a report: its id, and its receipt code, shown once.

    The busiest write there is, so it is two statements: the report, inserted only if its
    region is a municipality in use (the region needs no query of its own), and its
    identifiers in one batch. On PostgreSQL the API does the same in one statement on the
    event loop: submit_on_loop.
    """
    token_hash = crypto.index.digest("form-token", form_token) if form_token else None
    prepared = _prepare(data, crypto, default_region, token_hash)
    if prepared.errors:
        region = regions_service.get_municipality(session, code=prepared.report["region_code"])
        raise _refused(prepared.errors, region_known=region is not None)
    if (
        token_hash
        and session.exec(select(Report.id).where(Report.form_token_hash == token_hash)).first()
    ):
        raise AlreadySubmitted()

    connection = session.connection()  # Core statements: the ORM would add nothing here
    report = prepared.report
    report_id = connection.execute(_insert_report(), report).scalar_one_or_none()
    if report_id is None:
        raise InvalidInput([_UNKNOWN_REGION])
    if prepared.identifiers:
        connection.execute(
            _INSERT_IDENTIFIER, [{"report_id": report_id, **row} for row in prepared.identifiers]
        )
    return report_id, prepared.code


def _refused(errors: list[FieldError], *, region_known: bool) -> InvalidInput:
    """What is wrong with a report's identifiers, and first its region when that is wrong too."""
    return InvalidInput(errors if region_known else [_UNKNOWN_REGION, *errors])


async def submit_on_loop(
    pool: AsyncConnectionPool, *, data: ReportCreate, crypto: Crypto, default_region: str
) -> str:
    """submit() for the API on PostgreSQL: one statement, on a connection of the event
    loop's own pool (app.db.make_loop_pool), so a report costs one round trip and no
    thread. The report and its identifiers are written together or not at all."""
    prepared = _prepare(data, crypto, default_region)
    region_code = prepared.report["region_code"]
    if prepared.errors:
        async with pool.connection() as connection:
            in_use = await connection.execute(
                *_on_postgresql(_region_in_use(), {"region_code": region_code})
            )
            known = (await in_use.fetchone() or (False,))[0]
        raise _refused(prepared.errors, region_known=known)
    rows = prepared.identifiers
    values = {
        **prepared.report,
        "categories": json.dumps(prepared.report["categories"]),
        "kinds": [row["kind"] for row in rows],
        "values": [row["value_enc"] for row in rows],
        "indexes": [row["blind_index"] for row in rows],
    }
    if not await _insert_on_loop(pool, *_on_postgresql(_insert_report_and_identifiers(), values)):
        raise InvalidInput([_UNKNOWN_REGION])
    return prepared.code


# A report's receipt hash is unique (migrations: the initial schema).
_RECEIPT_UNIQUE = "uq_report_receipt_hash"


async def _insert_on_loop(pool: AsyncConnectionPool, sql: str, params: tuple[Any, ...]) -> bool:
    """Run the report's insert; whether its region let it in.

    The pool does not test a connection before handing it out (that would be a round
    trip per report). A connection that turns out dead, as all of them are after the
    server restarts, has the pool test its idle ones, and the insert is tried once more.
    Trying again is safe: should the first try have been stored before its connection
    died, the second meets the same receipt hash and is refused, which says so."""
    connection: AsyncConnection[Any] | None = None
    try:
        async with pool.connection() as connection:
            return await (await connection.execute(sql, params)).fetchone() is not None
    except psycopg.OperationalError:
        if connection is None or not connection.broken:
            raise
    await pool.check()
    async with pool.connection() as connection:
        try:
            return await (await connection.execute(sql, params)).fetchone() is not None
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name != _RECEIPT_UNIQUE:
                raise
            return True  # stored by the first try; only its answer was lost


_REPORT_COLUMNS = (
    "receipt_hash",
    "form_token_hash",
    "status",
    "region_code",
    "incident_date",
    "part_of_day",
    "categories",
    "urgency",
    "what_happened_enc",
    "perpetrator_description_enc",
    "consent_police",
    "language",
    "submitted_at",
    "version",
)


@cache
def _insert_report() -> ReturningInsert[int]:
    """INSERT INTO report (…) SELECT :receipt_hash, … WHERE <:region_code is in use>
    RETURNING id: built once, then run with each report's values."""
    table = Report.__table__  # type: ignore[attr-defined]
    fields = {name: bindparam(name, type_=table.c[name].type) for name in _REPORT_COLUMNS}
    in_use = select(*fields.values()).where(regions_service.is_municipality(fields["region_code"]))
    return insert(table).from_select(_REPORT_COLUMNS, in_use).returning(table.c.id)


@cache
def _insert_report_and_identifiers() -> Select[Any]:
    """WITH r AS (<_insert_report>), i AS (INSERT INTO report_identifier … SELECT r.id, …
    FROM r, unnest(:kinds, :values, :indexes)) SELECT id FROM r — one statement; no row
    when the region is not in use, and then no identifier either."""
    report = _insert_report().cte("r")
    identifiers = (
        func.unnest(
            bindparam("kinds", type_=ARRAY(String)),
            bindparam("values", type_=ARRAY(LargeBinary)),
            bindparam("indexes", type_=ARRAY(LargeBinary)),
        )
        .table_valued("kind", "value_enc", "blind_index")
        .render_derived()
    )
    table = ReportIdentifier.__table__  # type: ignore[attr-defined]
    insert_identifiers = insert(table).from_select(
        ["report_id", "kind", "value_enc", "blind_index"],
        select(report.c.id, identifiers.c.kind, identifiers.c.value_enc, identifiers.c.blind_index),
    )
    return select(report.c.id).add_cte(insert_identifiers.cte("i"))


@cache
def _region_in_use() -> Select[Any]:
    return select(regions_service.is_municipality(bindparam("region_code", type_=String)))


class _OnPostgresql(NamedTuple):
    """A statement as psycopg runs it: its SQL with %s placeholders, the name of the value
    each one takes, and the constants the statement binds itself (e.g. the region level)."""

    sql: str
    names: tuple[str, ...]
    constants: dict[str, Any]


@cache
def _compiled(statement: Select[Any]) -> _OnPostgresql:
    compiled = statement.compile(dialect=postgresql_psycopg.dialect(paramstyle="format"))
    constants = {
        name: value.value if isinstance(value, Enum) else value
        for name, value in compiled.params.items()
        if value is not None  # None: a value each report brings
    }
    return _OnPostgresql(str(compiled), tuple(compiled.positiontup or ()), constants)


def _on_postgresql(statement: Select[Any], values: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """What to hand psycopg's execute(): positional values, which it need not reorder."""
    sql, names, constants = _compiled(statement)
    merged = constants | values
    return sql, tuple(merged[name] for name in names)


_INSERT_IDENTIFIER = insert(ReportIdentifier.__table__)  # type: ignore[attr-defined]


_UNKNOWN_REGION = FieldError(
    ("region",), "unknown_region", "unknown municipality code (e.g. GM0106)"
)


def identifier_errors(perpetrator: PerpetratorIn, *, default_region: str) -> list[FieldError]:
    """What is wrong with the reported person's identifiers, one error per bad value."""
    return _normalise_identifiers(perpetrator, default_region)[1]


def _normalise_identifiers(
    perpetrator: PerpetratorIn, default_region: str
) -> tuple[list[tuple[IdentifierKind, str]], list[FieldError]]:
    found: dict[tuple[IdentifierKind, str], None] = {}
    errors = []
    for kind, field in IDENTIFIER_FIELDS:
        for i, raw in enumerate(getattr(perpetrator, field)):
            try:
                found[(kind, normalise(kind, raw, default_region=default_region))] = None
            except InvalidIdentifier as exc:
                errors.append(FieldError(("perpetrator", field, i), exc.code, exc.message))
    return list(found), errors


def _encrypt_optional(cipher: FieldCipher, text: str | None, purpose: str) -> bytes | None:
    return cipher.encrypt(text, purpose=purpose) if text else None


def find_by_receipt_or_none(
    session: Session, *, crypto: Crypto, receipt_code: str
) -> Report | None:
    digest = receipts.code_hash(crypto.index, receipt_code)
    if digest is None:
        return None
    return session.exec(select(Report).where(Report.receipt_hash == digest)).first()


def find_by_receipt(session: Session, *, crypto: Crypto, receipt_code: str) -> Report:
    """The report a receipt code belongs to. Malformed and unknown codes fail alike."""
    report = find_by_receipt_or_none(session, crypto=crypto, receipt_code=receipt_code)
    if report is None:
        raise NotFound(NOT_FOUND)
    return report


def transition(report: Report, to: ReportStatus) -> None:
    current = ReportStatus(report.status)
    if to not in TRANSITIONS[current]:
        raise Conflict(f"A report that is {current.value} cannot become {to.value}.")
    report.status = to.value
    report.version += 1
    if to not in {ReportStatus.in_review}:
        report.claimed_by_id = None
        report.claim_expires_at = None


def status_of(session: Session, *, report: Report, cipher: FieldCipher) -> ReportStatusPublic:
    messages = session.exec(
        select(ReportMessage)
        .where(ReportMessage.report_id == report.id)
        .order_by(col(ReportMessage.id))
    ).all()
    questions = []
    for i, message in enumerate(messages):
        if message.author == MessageAuthor.moderator:
            answered = any(m.author == MessageAuthor.reporter for m in messages[i + 1 :])
            questions.append(
                QuestionPublic(
                    asked_on=message.created_at.date(),
                    text=cipher.decrypt(message.body_enc, purpose=PURPOSE_MESSAGE),
                    answered=answered,
                )
            )
    status = ReportStatus(report.status)
    return ReportStatusPublic(
        status=status,
        submitted_on=report.submitted_at.date(),
        questions=questions,
        can_reply=status is ReportStatus.needs_info,
        can_withdraw=status in WITHDRAWABLE,
    )


def ask_reporter(session: Session, *, report: Report, question: str, cipher: FieldCipher) -> None:
    """A moderator's question: the report waits for the reporter (in_review -> needs_info)."""
    transition(report, ReportStatus.needs_info)
    _add_message(session, report, MessageAuthor.moderator, question, cipher)


def reply(session: Session, *, report: Report, message: str, cipher: FieldCipher) -> None:
    """The reporter's answer: the report goes back into the queue (needs_info -> submitted)."""
    if report.status != ReportStatus.needs_info:
        raise Conflict("There is no open question to answer on this report.")
    transition(report, ReportStatus.submitted)
    _add_message(session, report, MessageAuthor.reporter, message, cipher)


def _add_message(
    session: Session, report: Report, author: MessageAuthor, text: str, cipher: FieldCipher
) -> None:
    assert report.id is not None
    session.add(report)
    session.add(
        ReportMessage(
            report_id=report.id,
            author=author.value,
            body_enc=cipher.encrypt(text, purpose=PURPOSE_MESSAGE),
            created_at=coarse_now(),
        )
    )
    session.flush()


def withdraw(session: Session, *, report: Report) -> None:
    """The reporter takes the report back; everything they wrote is deleted at once."""
    if ReportStatus(report.status) not in WITHDRAWABLE:
        raise Conflict(f"A report that is {report.status} can no longer be withdrawn.")
    transition(report, ReportStatus.withdrawn)
    purge_text(session, report=report)


def purge_text(session: Session, *, report: Report) -> None:
    """Delete the free text, the identifiers and the messages; keep the bare facts."""
    report.what_happened_enc = None
    report.perpetrator_description_enc = None
    report.form_token_hash = None
    report.text_purged_at = datetime.now(UTC)
    session.add(report)
    session.exec(delete(ReportIdentifier).where(col(ReportIdentifier.report_id) == report.id))
    session.exec(delete(ReportMessage).where(col(ReportMessage.report_id) == report.id))
    session.flush()


def purge_decided(session: Session, policy: Policy) -> int:
    """Retention: the text and identifiers of reports decided long enough ago (published
    or duplicate: policy.report_days; rejected: policy.rejected_days). Returns how many."""
    decided = {
        ReportStatus.published.value: policy.before(policy.report_days),
        ReportStatus.duplicate.value: policy.before(policy.report_days),
        ReportStatus.rejected.value: policy.before(policy.rejected_days),
    }
    due = session.exec(
        select(Report).where(
            col(Report.text_purged_at).is_(None),
            or_(
                *(
                    (col(Report.status) == status) & (col(Report.decided_at) <= cutoff)
                    for status, cutoff in decided.items()
                )
            ),
        )
    ).all()
    for report in due:
        purge_text(session, report=report)
    return len(due)
