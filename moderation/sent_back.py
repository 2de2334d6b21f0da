"""Sending a pending alert back to its author, and the author resubmitting it.

An approver who would not approve an alert as it stands sends it back with a note (kept
encrypted like every moderator's note, kind SENT_BACK). Until its author has changed and
resubmitted it, it cannot be approved; the note goes at resubmission. The audit log
records both steps, never the note.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, col, select

from alerts import service as alerts_service
from alerts.models import Alert, AlertStatus
from app.crypto import Crypto
from app.errors import Conflict, Forbidden, NotFound
from app.settings import Settings
from moderation import audit, decisions, service
from moderation.models import AlertReview, ModerationNote, Moderator
from moderation.schemas import AlertAction, ResubmitIn, SendBackIn

SENT_BACK = "sent_back"


def waiting_for_author(session: Session, alert_ids: list[int]) -> set[int]:
    """Which of these alerts were sent back and wait for their author to change them."""
    if not alert_ids:
        return set()
    rows = session.exec(
        select(ModerationNote.alert_id).where(
            col(ModerationNote.alert_id).in_(alert_ids), ModerationNote.kind == SENT_BACK
        )
    ).all()
    return {a for a in rows if a is not None}


def _pending(session: Session, ref: str) -> tuple[Alert, AlertReview | None]:
    alert = alerts_service.get_by_ref(session, ref=ref, for_update=True)
    if alert is None:
        raise NotFound("No alert has this reference.")
    return alert, session.get(AlertReview, alert.id)


def send_back(
    session: Session, *, ref: str, moderator: Moderator, data: SendBackIn, crypto: Crypto
) -> AlertAction:
    """An approver returns a pending alert to its author with a note: it cannot be approved
    until the author has changed and resubmitted it."""
    alert, review = _pending(session, ref)
    assert alert.id is not None
    if alert.status != AlertStatus.pending_approval:
        raise Conflict(
            f"Alert {alert.ref} is {alert.status.replace('_', ' ')}: only an alert waiting for"
            " approval can be sent back."
        )
    if review is not None and review.published_by_id == moderator.id:
        raise Forbidden("You wrote this alert: change it by retracting it, or ask a colleague.")
    if waiting_for_author(session, [alert.id]):
        raise Conflict(f"Alert {alert.ref} is already with its author.")
    service.add_note(session, crypto, moderator, SENT_BACK, data.note, alert_id=alert.id)
    audit.record_alert(session, moderator=moderator, action="alert.send_back", ref=alert.ref)
    return AlertAction(ref=alert.ref, status=AlertStatus(alert.status))


def resubmit(
    session: Session,
    *,
    ref: str,
    moderator: Moderator,
    data: ResubmitIn,
    crypto: Crypto,
    settings: Settings,
) -> AlertAction:
    """The author's changed alert, waiting for approval again; the approver's note goes."""
    alert, review = _pending(session, ref)
    assert alert.id is not None
    if review is None or review.published_by_id != moderator.id:
        raise Forbidden("Only the moderator who wrote this alert can change it.")
    if not waiting_for_author(session, [alert.id]):
        raise Conflict(f"Alert {alert.ref} was not sent back: there is nothing to resubmit.")
    draft = decisions.draft_of(
        session,
        data,
        settings=settings,
        incident_date=alert.incident_date,
        part_of_day=alert.part_of_day,
        expires_at=alert.expires_at,
    )
    decisions.refuse_long_sms(session, draft=draft, settings=settings)
    client = decisions.alert_identifiers(data, default_region=settings.default_country)
    flagged = decisions.checked_flags(
        [data.text, *data.texts.values()],
        reported=set(client),
        checked=data.checked_flags,
        settings=settings,
    )
    alerts_service.revise(session, alert=alert, draft=draft, crypto=crypto)
    session.execute(
        delete(ModerationNote).where(
            col(ModerationNote.alert_id) == alert.id, col(ModerationNote.kind) == SENT_BACK
        )
    )
    audit.record_alert(session, moderator=moderator, action="alert.resubmit", ref=alert.ref)
    if flagged:  # that they were checked; never the text or what was flagged
        audit.record_alert(
            session, moderator=moderator, action="alert.flags_checked", ref=alert.ref
        )
    return AlertAction(ref=alert.ref, status=AlertStatus(alert.status))
