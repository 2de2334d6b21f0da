"""Alerts as moderators see them: previews, lists, four-eyes approval, retraction."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from alerts import service as alerts_service
from alerts.models import (
    PURPOSE_ALERT_IDENTIFIER,
    PURPOSE_UPDATE_TEXT,
    Alert,
    AlertIdentifier,
    AlertReport,
    AlertStatus,
    Severity,
)
from alerts.render import AlertView, measure, render_sms, render_update_sms
from app.crypto import Crypto
from app.db import aware, utcnow
from app.errors import Forbidden, NotFound
from app.i18n import LANGUAGES
from app.identifiers import IdentifierKind
from app.regions import service as regions_service
from app.settings import Settings
from moderation import audit, decisions, redaction, service
from moderation.models import AlertReview, Moderator
from moderation.schemas import (
    AlertAction,
    AlertDetail,
    AlertSummary,
    AlertUpdatePublic,
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
    return {
        lang: _sms_preview(render_sms(view, lang, masking=settings.identifier_masking), settings)
        for lang in LANGUAGES
    }


def _sms_preview(text: str, settings: Settings) -> SmsPreview:
    length = measure(text)
    return SmsPreview(
        text=text,
        characters=length.characters,
        encoding=length.encoding,
        segments=length.segments,
        too_long=length.segments > settings.sms_max_segments,
    )


LINK_WARNING = (
    "The text has a link. Subscribers are warned about messages with links, and a link"
    " can make an alert look like a scam: leave it out unless it must be there."
)


def preview(session: Session, *, data: PreviewIn, settings: Settings) -> PreviewOut:
    """What subscribers would receive, whom it would reach, and what is worth a second look."""
    draft = alerts_service.AlertDraft(
        text=data.text,
        severity=data.severity,
        region_codes=regions_service.check_codes(session, data.regions),
        categories=[c.value for c in data.categories],
        identifiers=decisions.alert_identifiers(data, default_region=settings.default_country),
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
        needs_approval=decisions.needs_four_eyes(data.severity, recipients, settings),
        max_segments=settings.sms_max_segments,
        warnings=[LINK_WARNING] if redaction.has_link(data.text) else [],
    )


def _summary(
    session: Session, alert: Alert, review: AlertReview | None, names: dict[int, str]
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
    reviews, names = _reviews(session, [a.id for a in alerts if a.id is not None])
    return [_summary(session, a, reviews.get(a.id or 0), names) for a in alerts]


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
    return AlertDetail(
        **_summary(session, alert, reviews.get(alert.id), names).model_dump(),
        text=view.text,
        identifiers=[
            IdentifierIn(
                kind=IdentifierKind(i.kind),
                value=crypto.cipher.decrypt(i.value_enc, purpose=PURPOSE_ALERT_IDENTIFIER),
            )
            for i in identifiers
        ],
        sms=sms_previews(view, settings),
        reports=sorted(reports),
        notes=service.notes(session, crypto=crypto, alert_id=alert.id),
        updates=[
            AlertUpdatePublic(
                number=u.number,
                text=(text := crypto.cipher.decrypt(u.text_enc, purpose=PURPOSE_UPDATE_TEXT)),
                created_at=aware(u.created_at),
                recipients=alerts_service.update_recipients(
                    session, alert_id=alert.id, number=u.number
                ),
                sms={
                    lang: _sms_preview(render_update_sms(view, lang, text=text), settings)
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
    alerts_service.publish(session, alert=alert)
    if review is not None:
        review.approved_by_id = moderator.id
        session.add(review)
    audit.record(
        session,
        moderator_id=moderator.id,
        action="alert.approve",
        target_type="alert",
        target_id=alert.ref,
    )
    return AlertAction(ref=alert.ref, status=AlertStatus(alert.status))


def send_update(
    session: Session, *, ref: str, moderator: Moderator, data: UpdateIn, crypto: Crypto
) -> UpdateOut:
    """News about a live alert, to everyone it went to."""
    alert = _get(session, ref, for_update=True)
    number, recipients = alerts_service.add_update(
        session, alert=alert, text=data.text, cipher=crypto.cipher
    )
    audit.record(
        session,
        moderator_id=moderator.id,
        action="alert.update",
        target_type="alert",
        target_id=alert.ref,
    )
    return UpdateOut(ref=alert.ref, number=number, recipients=recipients)


def retract(
    session: Session, *, ref: str, moderator: Moderator, data: RetractIn, crypto: Crypto
) -> AlertAction:
    alert = _get(session, ref, for_update=True)
    alerts_service.retract(session, alert=alert, reason=data.reason, cipher=crypto.cipher)
    service.add_note(session, crypto, moderator, "retract", data.reason, alert_id=alert.id)
    audit.record(
        session,
        moderator_id=moderator.id,
        action="alert.retract",
        target_type="alert",
        target_id=alert.ref,
    )
    return AlertAction(ref=alert.ref, status=AlertStatus(alert.status))
