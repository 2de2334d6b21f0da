"""The report domain: submit, look up by receipt code, reply, withdraw.

Services take a session and plain values, flush but never commit: the caller's
transaction decides. Everything is validated before the first write, so a refused
submission leaves nothing behind.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import Session, col, delete, or_, select

from app import receipts
from app.crypto import Crypto, FieldCipher
from app.db import aware, coarse_now, utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.identifiers import IdentifierKind, InvalidIdentifier, normalise
from app.regions import service as regions_service
from app.reports.models import (
    CATEGORY_URGENCY,
    MAX_ADDITIONS,
    PURPOSE_DESCRIPTION,
    PURPOSE_IDENTIFIER,
    PURPOSE_MESSAGE,
    PURPOSE_TEXT,
    TRANSITIONS,
    MessageAuthor,
    PerpetratorIn,
    PoliceConsent,
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
# A report takes added information until it is decided or withdrawn.
OPEN = WITHDRAWABLE
# The typical wait is only told when it rests on this many decisions in its window.
WAIT_MIN_DECISIONS = 5
WAIT_WINDOW = timedelta(days=30)


class AlreadySubmitted(Conflict):
    """The same form was sent twice (a double tap, a reload): the first one counts."""

    def __init__(self) -> None:
        super().__init__("This form was already submitted; use the receipt code shown then.")


class Prepared(NamedTuple):
    """A report ready to store: its row, its identifiers' rows (report_id to be filled
    in), the receipt code to show once, and what is wrong with its identifiers."""

    report: dict[str, Any]
    identifiers: list[dict[str, Any]]
    code: str
    errors: list[FieldError]


def prepare(
    data: ReportCreate, crypto: Crypto, default_region: str, token_hash: bytes | None = None
) -> Prepared:
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
        "police_consent": data.consent.value,
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
    return Prepared(report, rows, code, errors)


def submit(
    session: Session,
    *,
    data: ReportCreate,
    crypto: Crypto,
    default_region: str,
    form_token: str | None = None,
    third_party: bool = False,
) -> tuple[int, str]:
    """Validate, encrypt and store a report: its id, and its receipt code, shown once.
    `form_token` (the web form's) makes a second send of the same form AlreadySubmitted.
    `third_party`: an organisation sent it for a worker who consented (organisations/).

    Two statements: the report, inserted only if its region is a municipality in use (so
    the region needs no query of its own), and its identifiers in one batch. Through the
    ORM's unit of work, with a query for the region first, the API stored a third fewer
    reports a second under load (docs/benchmarks.md, intake, 2026-11-30)."""
    token_hash = crypto.index.digest("form-token", form_token) if form_token else None
    prepared = prepare(data, crypto, default_region, token_hash)
    if prepared.errors:  # the region comes first when it is wrong too
        region = regions_service.get_municipality(session, code=prepared.report["region_code"])
        raise InvalidInput(prepared.errors if region else [UNKNOWN_REGION, *prepared.errors])
    if (
        token_hash
        and session.exec(select(Report.id).where(Report.form_token_hash == token_hash)).first()
    ):
        raise AlreadySubmitted()

    connection = session.connection()  # Core statements: the ORM would add nothing here
    report = {**prepared.report, "third_party": third_party}
    report_id = connection.execute(_insert_report(), report).scalar_one_or_none()
    if report_id is None:
        raise InvalidInput([UNKNOWN_REGION])
    if prepared.identifiers:
        connection.execute(
            _INSERT_IDENTIFIER, [{"report_id": report_id, **row} for row in prepared.identifiers]
        )
    return report_id, prepared.code


# The columns a submission writes: prepare() gives each a value, submit() adds third_party.
REPORT_COLUMNS = (
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
    "police_consent",
    "third_party",
    "language",
    "submitted_at",
    "version",
)


@cache
def _insert_report() -> ReturningInsert[int]:
    """INSERT INTO report (…) SELECT :receipt_hash, … WHERE <:region_code is in use>
    RETURNING id: built once, then run with each report's values."""
    table = Report.__table__  # type: ignore[attr-defined]
    fields = {name: bindparam(name, type_=table.c[name].type) for name in REPORT_COLUMNS}
    in_use = select(*fields.values()).where(regions_service.is_municipality(fields["region_code"]))
    return insert(table).from_select(REPORT_COLUMNS, in_use).returning(table.c.id)


_INSERT_IDENTIFIER = insert(ReportIdentifier.__table__)  # type: ignore[attr-defined]


UNKNOWN_REGION = FieldError(
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
    added_on = [m.created_at.date() for m in messages if m.author == MessageAuthor.addition]
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
        added_on=added_on,
        can_reply=status is ReportStatus.needs_info,
        can_add=status in OPEN and len(added_on) < MAX_ADDITIONS,
        can_withdraw=status in WITHDRAWABLE,
        police_consent=PoliceConsent(report.police_consent),
        police_shared=report.police_shared_at is not None,
    )


def withdraw_police_consent(session: Session, *, report: Report) -> None:
    """The reporter takes back what they allowed the police, until an export of the report
    was approved (an export waiting for approval can then no longer be approved)."""
    if report.police_shared_at is not None:
        raise Conflict("This report was shared with the police already: it cannot be taken back.")
    report.police_consent = PoliceConsent.none.value
    report.version += 1
    session.add(report)
    session.flush()


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


class ReportClosed(Conflict):
    """Information for a report that is decided or withdrawn: say so, and what to do."""

    def __init__(self, status: ReportStatus) -> None:
        super().__init__(
            f"This report is {status.value}, so it is closed and nothing can be added to it. "
            "If something new happened, send a new report."
        )
        self.status = status


class TooManyAdditions(Conflict):
    def __init__(self) -> None:
        super().__init__(
            f"This report already has {MAX_ADDITIONS} additions, the most it takes. "
            "If something new happened, send a new report."
        )


def add_information(session: Session, *, report: Report, message: str, cipher: FieldCipher) -> None:
    """Something the reporter adds unasked, while the report is open. The report's version
    moves on, so a moderator deciding on a view without it is told to look again."""
    status = ReportStatus(report.status)
    if status not in OPEN:
        raise ReportClosed(status)
    if not message.strip():
        raise InvalidInput([FieldError(("message",), "empty", "write what you want to add")])
    added = session.exec(
        select(func.count())
        .select_from(ReportMessage)
        .where(
            ReportMessage.report_id == report.id,
            ReportMessage.author == MessageAuthor.addition.value,
        )
    ).one()
    if added >= MAX_ADDITIONS:
        raise TooManyAdditions()
    report.version += 1
    _add_message(session, report, MessageAuthor.addition, message, cipher)


def typical_wait(session: Session, *, now: datetime | None = None) -> timedelta | None:
    """The moderators' median time from a report's arrival to its first decision (a
    publication, rejection, duplicate, or a question to the reporter), over the decisions
    of the last 30 days; None when there were too few to say.

    Arrival times are kept to the hour, rounded down, so this errs on the long side: a
    reporter told to come back later rather than too early."""
    now = now or utcnow()
    since = now - WAIT_WINDOW
    first_question = (
        select(
            col(ReportMessage.report_id).label("report_id"),
            func.min(ReportMessage.created_at).label("asked_at"),
        )
        .where(ReportMessage.author == MessageAuthor.moderator.value)
        .group_by(col(ReportMessage.report_id))
        .subquery()
    )
    rows = session.exec(
        select(Report.submitted_at, Report.decided_at, first_question.c.asked_at)
        .outerjoin(first_question, first_question.c.report_id == Report.id)
        .where(
            or_(col(Report.decided_at) >= since, first_question.c.asked_at >= since),
            col(Report.submitted_at) <= now,
        )
    ).all()
    waits = []
    for submitted_at, decided_at, asked_at in rows:
        first = min(aware(t) for t in (decided_at, asked_at) if t is not None)
        if since <= first <= now:
            waits.append(max(0.0, (first - aware(submitted_at)).total_seconds()))
    if len(waits) < WAIT_MIN_DECISIONS:
        return None
    return timedelta(seconds=statistics.median(waits))


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
