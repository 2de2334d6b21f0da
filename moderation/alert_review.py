"""Alerts as moderators see them: previews, lists, four-eyes approval, retraction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from alerts import service as alerts_service
from alerts.delivery import outbox
from alerts.models import (
    PURPOSE_ALERT_IDENTIFIER,
    Alert,
    AlertIdentifier,
    AlertReport,
    AlertStatus,
    DeliveryStatus,
    Severity,
)
from alerts.render import (
    AlertView,
    fallback_languages,
    measure,
    render_sms,
    render_update_sms,
    segment_cap,
)
from app.crypto import Crypto
from app.db import aware, utcnow
from app.errors import Conflict, Forbidden, NotFound
from app.i18n import LANGUAGES
from app.identifiers import IdentifierKind
from app.settings import Settings
from moderation import audit, decisions, redaction, sent_back, service
from moderation.models import AlertReview, Moderator
from moderation.schemas import (
    AlertAction,
    AlertDetail,
    AlertSummary,
    AlertUpdatePublic,
    DeliveryCount,
    IdentifierIn,
    PreviewIn,
    PreviewOut,
    RetractIn,
    SmsPreview,
    UpdateIn,
    UpdateOut,
)


def sms_previews(view: AlertView, settings: Settings) -> dict[str, SmsPreview]:
    """Exactly what each language's subscribers will receive, with its length."""
    fallbacks = set(fallback_languages(view.texts))
    return {
        lang: _sms_preview(
            render_sms(view, lang, masking=settings.identifier_masking),
            settings,
            fallback=lang in fallbacks,
        )
        for lang in LANGUAGES
    }


def _sms_preview(text: str, settings: Settings, *, fallback: bool = False) -> SmsPreview:
    length = measure(text)
    return SmsPreview(
        text=text,
        characters=length.characters,
        encoding=length.encoding,
        segments=length.segments,
        too_long=length.segments > segment_cap(settings.sms_max_segments, length.encoding),
        fallback=fallback,
    )


LINK_WARNING = (
    "The text has a link. Subscribers are warned about messages with links, and a link"
    " can make an alert look like a scam: leave it out unless it must be there."
)


def preview(session: Session, *, data: PreviewIn, settings: Settings) -> PreviewOut:
    """What subscribers would receive, whom it would reach, and what is worth a second look."""
    draft = decisions.draft_of(
        session,
        data,
        settings=settings,
        incident_date=data.incident_date or date.today(),
        part_of_day=data.part_of_day.value if data.part_of_day else None,
        expires_at=utcnow(),
    )
    view = alerts_service.draft_view(session, draft=draft)
    recipients = alerts_service.count_recipients(
        session, region_codes=draft.region_codes, severity=data.severity
    )
    return PreviewOut(
        sms=sms_previews(view, settings),
        recipients=recipients,
        fallbacks=fallback_reach(
            session, region_codes=draft.region_codes, severity=data.severity, texts=view.texts
        ),
        needs_approval=decisions.needs_four_eyes(data.severity, recipients, settings),
        max_segments=settings.sms_max_segments,
        warnings=[LINK_WARNING]
        if any(redaction.has_link(t) for t in [data.text, *data.texts.values()])
        else [],
    )


def fallback_reach(
    session: Session, *, region_codes: list[str], severity: Severity, texts: dict[str, str]
) -> dict[str, int]:
    """Each language without a text of its own, with how many of its readers the alert
    reaches: they get the written text."""
    by_language = alerts_service.recipients_by_language(
        session, region_codes=region_codes, severity=severity
    )
    return {lang: by_language.get(lang, 0) for lang in fallback_languages(texts)}


def _summary(
    session: Session,
    alert: Alert,
    review: AlertReview | None,
    names: dict[int, str],
    sent_back: set[int],
) -> AlertSummary:
    assert alert.id is not None
    regions = alerts_service.region_names_by_alert(session, alert_ids=[alert.id])
    return AlertSummary(
        ref=alert.ref,
        status=AlertStatus(alert.status),
        severity=Severity(alert.severity),
        categories=alert.categories,
        regions=regions.get(alert.id, []),
        incident_date=alert.incident_date,
        created_at=aware(alert.created_at),
        published_at=aware(alert.published_at),
        expires_at=aware(alert.expires_at),
        report_count=alert.report_count,
        published_by=names.get(review.published_by_id) if review else None,
        approved_by=names.get(review.approved_by_id or 0) if review else None,
        needs_approval=review.needs_approval if review else False,
        sent_back=alert.id in sent_back,
    )


def _reviews(
    session: Session, alert_ids: list[int]
) -> tuple[dict[int, AlertReview], dict[int, str]]:
    reviews = {
        r.alert_id: r
        for r in session.exec(select(AlertReview).where(col(AlertReview.alert_id).in_(alert_ids)))
    }
    people = {r.published_by_id for r in reviews.values()} | {
        r.approved_by_id for r in reviews.values() if r.approved_by_id
    }
    names = {
        m.id: m.username
        for m in session.exec(select(Moderator).where(col(Moderator.id).in_(people)))
        if m.id
    }
    return reviews, names


def list_alerts(
    session: Session, *, status: AlertStatus | None = None, limit: int = 100
) -> list[AlertSummary]:
    query = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
    if status is not None:
        query = query.where(Alert.status == status)
    alerts = session.exec(query).all()
    ids = [a.id for a in alerts if a.id is not None]
    reviews, names = _reviews(session, ids)
    back = sent_back.waiting_for_author(session, ids)
    return [_summary(session, a, reviews.get(a.id or 0), names, back) for a in alerts]


def _get(session: Session, ref: str, *, for_update: bool = False) -> Alert:
    alert = alerts_service.get_by_ref(session, ref=ref, for_update=for_update)
    if alert is None:
        raise NotFound("No alert has this reference.")
    return alert


def detail(session: Session, *, ref: str, crypto: Crypto, settings: Settings) -> AlertDetail:
    alert = _get(session, ref)
    assert alert.id is not None
    reviews, names = _reviews(session, [alert.id])
    view = alerts_service.view(session, alert=alert, cipher=crypto.cipher)
    identifiers = session.exec(
        select(AlertIdentifier).where(AlertIdentifier.alert_id == alert.id)
    ).all()
    reports = session.exec(
        select(AlertReport.report_id).where(AlertReport.alert_id == alert.id)
    ).all()
    notes = service.notes(session, crypto=crypto, alert_id=alert.id)
    back = [n for n in notes if n.kind == sent_back.SENT_BACK]
    return AlertDetail(
        **_summary(
            session, alert, reviews.get(alert.id), names, {alert.id} if back else set()
        ).model_dump(),
        text=view.text,
        texts=view.texts,
        # in the order of `regions`, which are sorted by code
        region_codes=sorted(alerts_service.region_codes(session, alert_id=alert.id)),
        identifiers=[
            IdentifierIn(
                kind=IdentifierKind(i.kind),
                value=crypto.cipher.decrypt(i.value_enc, purpose=PURPOSE_ALERT_IDENTIFIER),
            )
            for i in identifiers
        ],
        sms=sms_previews(view, settings),
        reports=sorted(reports),
        notes=[n for n in notes if n.kind != sent_back.SENT_BACK],
        sent_back_note=back[-1] if back else None,
        deliveries=deliveries(session, alert_id=alert.id),
        updates=[
            AlertUpdatePublic(
                number=u.number,
                text=(written := alerts_service.update_text(u, cipher=crypto.cipher)).text,
                texts=written.texts,
                created_at=aware(u.created_at),
                recipients=alerts_service.update_recipients(
                    session, alert_id=alert.id, number=u.number
                ),
                sms={
                    lang: _sms_preview(
                        render_update_sms(view, lang, text=written.text, texts=written.texts),
                        settings,
                        fallback=lang in fallback_languages(written.texts),
                    )
                    for lang in LANGUAGES
                },
            )
            for u in alerts_service.updates(session, alert_id=alert.id)
        ],
    )


def approve(session: Session, *, ref: str, moderator: Moderator) -> AlertAction:
    """The second pair of eyes: anyone but the moderator who published it."""
    alert = _get(session, ref, for_update=True)
    review = session.get(AlertReview, alert.id)
    if review is not None and review.published_by_id == moderator.id:
        raise Forbidden("You published this alert; a different moderator must approve it.")
    assert alert.id is not None
    if sent_back.waiting_for_author(session, [alert.id]):
        raise Conflict(
            f"Alert {alert.ref} was sent back to its author: it can be approved once they"
            " have changed and resubmitted it."
        )
    alerts_service.publish(session, alert=alert)
    if review is not None:
        review.approved_by_id = moderator.id
        session.add(review)
    audit.record_alert(session, moderator=moderator, action="alert.approve", ref=alert.ref)
    return AlertAction(ref=alert.ref, status=AlertStatus(alert.status))


def send_update(
    session: Session,
    *,
    ref: str,
    moderator: Moderator,
    data: UpdateIn,
    crypto: Crypto,
    settings: Settings,
) -> UpdateOut:
    """News about a live alert, to everyone it went to, each in their language where it was
    written for it. What the redaction help flags in any of its texts needs checked_flags,
    as when publishing (the alert's own identifiers are the client's, not flagged)."""
    alert = _get(session, ref, for_update=True)
    texts = {lang.value: text for lang, text in data.texts.items()}
    client = alerts_service.view(session, alert=alert, cipher=crypto.cipher).identifiers
    flagged = decisions.checked_flags(
        [data.text, *texts.values()],
        reported=set(client),
        checked=data.checked_flags,
        settings=settings,
    )
    number, recipients = alerts_service.add_update(
        session, alert=alert, text=data.text, texts=texts, cipher=crypto.cipher
    )
    audit.record_alert(session, moderator=moderator, action="alert.update", ref=alert.ref)
    if flagged:  # that they were checked; never the text or what was flagged
        audit.record_alert(
            session, moderator=moderator, action="alert.flags_checked", ref=alert.ref
        )
    return UpdateOut(
        ref=alert.ref,
        number=number,
        recipients=recipients,
        fallback_languages=fallback_languages(texts),
    )


def retract(
    session: Session, *, ref: str, moderator: Moderator, data: RetractIn, crypto: Crypto
) -> AlertAction:
    alert = _get(session, ref, for_update=True)
    alerts_service.retract(session, alert=alert, reason=data.reason, cipher=crypto.cipher)
    service.add_note(session, crypto, moderator, "retract", data.reason, alert_id=alert.id)
    audit.record_alert(session, moderator=moderator, action="alert.retract", ref=alert.ref)
    return AlertAction(ref=alert.ref, status=AlertStatus(alert.status))


# Where a message stands, as the alert page counts it.
_STANDING = {
    DeliveryStatus.pending.value: "waiting",
    DeliveryStatus.sending.value: "waiting",
    DeliveryStatus.sent.value: "sent",
    DeliveryStatus.delivered.value: "delivered",
    DeliveryStatus.undelivered.value: "failed",
    DeliveryStatus.failed.value: "failed",
    DeliveryStatus.cancelled.value: "cancelled",
}
_KIND_ORDER = {"alert": 0, "update": 1, "retraction": 2}


def deliveries(session: Session, *, alert_id: int) -> list[DeliveryCount]:
    """The alert's messages (the alert, its updates, its retraction) per channel."""
    rows = []
    for (kind, channel), by_status in outbox.counts_by_channel(session, alert_id=alert_id).items():
        standing = dict.fromkeys(("waiting", "sent", "delivered", "failed", "cancelled"), 0)
        for status, n in by_status.items():
            standing[_STANDING.get(status, "waiting")] += n
        rows.append(DeliveryCount(kind=kind, channel=channel, **standing))
    return sorted(rows, key=lambda r: (_KIND_ORDER.get(r.kind, 9), r.channel))


@dataclass(frozen=True)
class Audience:
    """Whom an action on an alert would reach, for the question before it is taken."""

    status: AlertStatus
    reached: int  # subscribers the alert has gone out to (or may have)
    waiting: int  # subscribers whose alert has not gone out yet
    would_reach: int  # subscribers a pending alert would go to once approved


def audience(session: Session, *, ref: str) -> Audience:
    alert = _get(session, ref)
    assert alert.id is not None
    statuses = outbox.alert_recipients(session, alert_id=alert.id)
    would_reach = 0
    if alert.status == AlertStatus.pending_approval:
        would_reach = alerts_service.count_recipients(
            session,
            # in the order of `regions`, which are sorted by code
            region_codes=sorted(alerts_service.region_codes(session, alert_id=alert.id)),
            severity=Severity(alert.severity),
        )
    return Audience(
        status=AlertStatus(alert.status),
        reached=sum(statuses.get(s, 0) for s in outbox.GONE_OUT),
        waiting=statuses.get(DeliveryStatus.pending.value, 0),
        would_reach=would_reach,
    )
