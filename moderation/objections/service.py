"""Taking objections, answering the objector, and the admins' decisions.

Taking one does the same work whatever the identifier: it is normalised and hashed, and
stored; nothing is looked up, so neither the answer nor its timing can say whether it is
listed. Only the admins' queue looks it up. An upheld objection takes the identifier out
of its alerts (so checks no longer find it) and tells the alerts' recipients.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from alerts import service as alerts_service
from alerts.models import Alert, AlertIdentifier
from app import receipts, tally
from app.crypto import Crypto
from app.db import aware, rows_changed, utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.i18n import LANGUAGES, translate
from app.identifiers import IdentifierKind, InvalidIdentifier, normalise
from app.ratelimit import RateLimiter
from app.reports.models import ReportIdentifier
from app.retention import Policy
from app.settings import Settings
from moderation import audit
from moderation.models import Moderator
from moderation.objections.models import (
    OUTCOMES,
    PURPOSE_ANSWER,
    PURPOSE_CONTACT,
    PURPOSE_REASON,
    CaseStatus,
    Match,
    Objection,
    ObjectionIn,
    ObjectionItem,
    ObjectionStatus,
)

NOT_FOUND = "No objection matches this case code. Check for typing mistakes."


def case_hash(crypto: Crypto, typed: str) -> bytes | None:
    canonical = receipts.normalise(typed)
    return None if canonical is None else crypto.index.digest("objection", canonical)


def normalised(kind: IdentifierKind, typed: str, *, country: str) -> str:
    """The identifier as alerts keep it; InvalidInput naming `value` when it is not one."""
    try:
        return normalise(kind, typed, default_region=country)
    except InvalidIdentifier as exc:
        raise InvalidInput([FieldError(("value",), exc.code, exc.message)]) from None


def submit(
    session: Session,
    *,
    data: ObjectionIn,
    crypto: Crypto,
    settings: Settings,
    limiter: RateLimiter,
) -> tuple[str, Objection]:
    """Store an objection; its case code (shown once) and row. The same steps for every identifier,
    listed or not. RateLimited after REDFLAG_RATE_LIMIT_OBJECTION for one identifier,
    whoever sends them (so objections cannot be used to check numbers one after another)."""
    value = normalised(data.kind, data.value, country=settings.default_country)
    digest = crypto.index.digest(data.kind.value, value)
    limiter.hit("objection", digest.hex())
    code = receipts.new_code()
    digest_of_code = case_hash(crypto, code)
    assert digest_of_code is not None  # a new code is always one
    now = utcnow()
    objection = Objection(
        case_hash=digest_of_code,
        kind=data.kind.value,
        blind_index=digest,
        language=data.language.value,
        reason_enc=crypto.cipher.encrypt(data.reason, purpose=PURPOSE_REASON),
        contact_enc=(
            crypto.cipher.encrypt(data.contact, purpose=PURPOSE_CONTACT) if data.contact else None
        ),
        received_at=now,
        deadline_at=now + timedelta(days=settings.objection_days),
    )
    session.add(objection)
    session.flush()
    tally.add(session, "objections.received")
    return code, objection


def find(session: Session, *, crypto: Crypto, typed: str) -> Objection:
    digest = case_hash(crypto, typed)
    found = (
        session.exec(select(Objection).where(Objection.case_hash == digest)).first()
        if digest
        else None
    )
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def status_of(objection: Objection, *, crypto: Crypto) -> CaseStatus:
    """What the objector may read: the status and, once decided, the answer. Before a
    decision it is "received" for every objection, listed or not."""
    answer = (
        crypto.cipher.decrypt(objection.answer_enc, purpose=PURPOSE_ANSWER)
        if objection.answer_enc
        else None
    )
    return CaseStatus(
        status=ObjectionStatus(objection.status),
        answer=answer,
        deadline=aware(objection.deadline_at),
    )


# ---- the admins' queue ----------------------------------------------------------------------


def queue(session: Session, *, crypto: Crypto, admin: Moderator) -> list[ObjectionItem]:
    """Undecided objections first (oldest first), then the decided ones, with where each
    identifier is listed: alerts (any state) and reports. Reading it is audited."""
    objections = session.exec(
        select(Objection).order_by(
            col(Objection.decided_at).is_not(None), col(Objection.received_at)
        )
    ).all()
    now = utcnow()
    items = []
    for o in objections:
        assert o.id is not None
        items.append(
            ObjectionItem(
                id=o.id,
                received_at=aware(o.received_at),
                deadline=aware(o.deadline_at),
                late=o.status == ObjectionStatus.received and aware(o.deadline_at) < now,
                status=ObjectionStatus(o.status),
                kind=IdentifierKind(o.kind),
                language=o.language,
                reason=_open(crypto, o.reason_enc, PURPOSE_REASON),
                contact=_open(crypto, o.contact_enc, PURPOSE_CONTACT),
                matches=matches(session, blind_index=o.blind_index),
            )
        )
        if o.reason_enc is not None:
            audit.record(
                session,
                moderator_id=admin.id,
                action="objection.view",
                target_type="objection",
                target_id=o.id,
            )
    return items


def _open(crypto: Crypto, value: bytes | None, purpose: str) -> str | None:
    return crypto.cipher.decrypt(value, purpose=purpose) if value else None


def matches(session: Session, *, blind_index: bytes) -> list[Match]:
    alert_refs = session.exec(
        select(Alert.ref)
        .join(AlertIdentifier, col(AlertIdentifier.alert_id) == Alert.id)
        .where(AlertIdentifier.blind_index == blind_index)
        .distinct()
    ).all()
    report_ids = session.exec(
        select(ReportIdentifier.report_id)
        .where(ReportIdentifier.blind_index == blind_index)
        .distinct()
    ).all()
    return [Match(alert_ref=ref, report_id=None) for ref in sorted(alert_refs)] + [
        Match(alert_ref=None, report_id=rid) for rid in sorted(report_ids)
    ]


@dataclass(frozen=True)
class Decided:
    objection: Objection
    alerts_updated: int
    alerts_retracted: int


def decide(
    session: Session,
    *,
    objection_id: int,
    outcome: ObjectionStatus,
    answer: str,
    admin: Moderator,
    crypto: Crypto,
) -> Decided:
    """Upheld or partly upheld: the identifier leaves every alert naming it, and each live
    one is corrected, or retracted (_take_out), to everyone it went to. The
    objector's reason and contact are deleted now; the answer stays for them to read.
    Audited without the identifier, the reason or the answer."""
    if outcome not in OUTCOMES:
        raise InvalidInput(
            [FieldError(("outcome",), "invalid_outcome", "upheld, partly_upheld or rejected")]
        )
    objection = session.get(Objection, objection_id, with_for_update=True)
    if objection is None:
        raise NotFound("No such objection.")
    if objection.status != ObjectionStatus.received:
        raise Conflict(f"Objection {objection_id} is decided already.")
    updated = retracted = 0
    if outcome != ObjectionStatus.rejected:
        updated, retracted = _take_out(session, objection, outcome=outcome, crypto=crypto)
    objection.status = outcome.value
    objection.decided_at = utcnow()
    objection.answer_enc = crypto.cipher.encrypt(answer, purpose=PURPOSE_ANSWER)
    objection.reason_enc = None
    objection.contact_enc = None
    session.add(objection)
    session.flush()
    tally.add(session, f"objections.{outcome.value}")
    audit.record(
        session,
        moderator_id=admin.id,
        action=f"objection.{outcome.value}",
        target_type="objection",
        target_id=objection.id,
    )
    return Decided(objection, updated, retracted)


def _take_out(
    session: Session, objection: Objection, *, outcome: ObjectionStatus, crypto: Crypto
) -> tuple[int, int]:
    """The identifier leaves every alert naming it. A live alert gets a correction sent to
    everyone it went to; when upheld and the alert named nothing else, it is retracted
    instead (a warning without anything to recognise the client by helps nobody). Returns
    (alerts updated, alerts retracted)."""
    naming = select(AlertIdentifier.alert_id).where(
        AlertIdentifier.blind_index == objection.blind_index
    )
    alerts = session.exec(select(Alert).where(col(Alert.id).in_(naming))).all()
    rows_changed(
        session,
        delete(AlertIdentifier).where(col(AlertIdentifier.blind_index) == objection.blind_index),
    )
    updated = retracted = 0
    for alert in alerts:
        if not alerts_service.is_live(alert):
            continue
        others = session.exec(
            select(AlertIdentifier.id).where(AlertIdentifier.alert_id == alert.id)
        ).first()
        if outcome == ObjectionStatus.upheld and others is None:
            alerts_service.retract(
                session, alert=alert, reason="objection upheld", cipher=crypto.cipher
            )
            retracted += 1
        else:
            alerts_service.add_update(
                session,
                alert=alert,
                text=translate("en", CORRECTION),
                texts=correction_texts(),
                cipher=crypto.cipher,
            )
            updated += 1
    return updated, retracted


CORRECTION = "objection.alert_corrected"


def correction_texts() -> dict[str, str]:
    """The update an objection sends to a live alert's recipients: each reads it in their
    own language (English is the written text, for a language the catalogue lacks)."""
    return {lang: translate(lang, CORRECTION) for lang in LANGUAGES}


def purge_decided(session: Session, policy: Policy) -> int:
    """A decided case, answer and all, goes after REDFLAG_OBJECTION_KEEP_DAYS."""
    cutoff = policy.before(policy.objection_keep_days)
    return rows_changed(
        session,
        delete(Objection).where(
            col(Objection.decided_at).is_not(None), col(Objection.decided_at) < cutoff
        ),
    )
