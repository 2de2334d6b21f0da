"""Reading a report under review: the decrypted text with redaction help, what it is
related to, and the moderators' notes. Only the moderator holding the claim reads it
(moderation/claims.py); the decisions are in moderation/decisions.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from sqlmodel import Session, col, select

from alerts import service as alerts_service
from alerts.models import Alert, AlertStatus, Severity
from app.crypto import Crypto
from app.db import aware, utcnow
from app.errors import NotFound
from app.identifiers import IdentifierKind
from app.regions.models import Region, RegionPublic
from app.reports.models import (
    PURPOSE_DESCRIPTION,
    PURPOSE_IDENTIFIER,
    PURPOSE_MESSAGE,
    PURPOSE_TEXT,
    MessageAuthor,
    PoliceConsent,
    Report,
    ReportIdentifier,
    ReportMessage,
    ReportStatus,
)
from app.settings import Settings
from moderation import audit, claims, duplicates, redaction
from moderation.models import PURPOSE_NOTE, ModerationNote, Moderator
from moderation.schemas import (
    FlagOut,
    IdentifierOut,
    MessageOut,
    NoteOut,
    RelatedAlert,
    RelatedReport,
    ReportReview,
)


def review(
    session: Session, *, report_id: int, moderator: Moderator, crypto: Crypto, settings: Settings
) -> ReportReview:
    """The decrypted report with redaction help and what it is related to. Claimant only."""
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("No such report.")
    claims.require_claim(report, moderator, version=None)
    assert report.id is not None
    cipher = crypto.cipher
    values = report_identifiers(session, report_id=report.id, crypto=crypto)
    identifiers = [i for i, _ in values]
    reported = {(i.kind, v) for i, v in values}
    text = (
        cipher.decrypt(report.what_happened_enc, purpose=PURPOSE_TEXT)
        if report.what_happened_enc
        else ""
    )
    description = (
        cipher.decrypt(report.perpetrator_description_enc, purpose=PURPOSE_DESCRIPTION)
        if report.perpetrator_description_enc
        else None
    )
    region = settings.default_country
    text_flags = redaction.flag(text, default_region=region, reported=reported)
    description_flags = redaction.flag(description or "", default_region=region, reported=reported)

    reports_by_digest, _ = claims.shared_identifiers(session, [report.id])
    live = alerts_service.live_alerts_matching(
        session, blind_indexes=[i.blind_index for i in identifiers]
    )
    other_ids = sorted({rid for ids in reports_by_digest.values() for rid in ids} - {report.id})
    regions = claims.regions_by_code(session, {report.region_code})
    place = session.get(Region, report.region_code)
    province = session.get(Region, place.parent_code) if place and place.parent_code else None
    audit.record(
        session,
        moderator_id=moderator.id,
        action="report.view",
        target_type="report",
        target_id=report.id,
    )
    return ReportReview(
        id=report.id,
        version=report.version,
        status=ReportStatus(report.status),
        region=regions[report.region_code],
        province=RegionPublic(code=province.code, name=province.name, level=province.level)
        if province
        else None,
        incident_date=report.incident_date,
        part_of_day=report.part_of_day,
        categories=report.categories,
        urgency=report.urgency,
        police_consent=PoliceConsent(report.police_consent),
        third_party=report.third_party,
        language=report.language,
        submitted_at=aware(report.submitted_at) or utcnow(),
        claim_expires_at=aware(report.claim_expires_at),
        what_happened=text,
        what_happened_flags=[FlagOut(**asdict(f)) for f in text_flags],
        description=description,
        description_flags=[FlagOut(**asdict(f)) for f in description_flags],
        suggested_text=redaction.suggested_text(
            text, text_flags, description or "", description_flags
        ),
        identifiers=[
            IdentifierOut(
                kind=IdentifierKind(i.kind),
                value=v,
                other_reports=sorted(reports_by_digest.get(i.blind_index, set()) - {report.id}),
                live_alerts=sorted({a.ref for a in live.get(i.blind_index, [])}),
            )
            for i, v in values
        ],
        messages=_messages(
            session,
            report.id,
            crypto,
            lambda text: redaction.flag(text, default_region=region, reported=reported),
        ),
        notes=notes(session, crypto=crypto, report_id=report.id),
        related_alerts=_related_alerts(
            session, {a.id: a for alerts in live.values() for a in alerts}
        ),
        related_reports=_related_reports(session, other_ids),
        duplicate_candidates=duplicates.candidates(
            session,
            region_code=report.region_code,
            blind_indexes=[i.blind_index for i in identifiers],
            crypto=crypto,
        ),
    )


def report_identifiers(
    session: Session, *, report_id: int, crypto: Crypto
) -> list[tuple[ReportIdentifier, str]]:
    """The client's identifiers as the reporter gave them, decrypted (normalised values)."""
    rows = session.exec(
        select(ReportIdentifier).where(ReportIdentifier.report_id == report_id)
    ).all()
    return [(i, crypto.cipher.decrypt(i.value_enc, purpose=PURPOSE_IDENTIFIER)) for i in rows]


def _messages(
    session: Session,
    report_id: int,
    crypto: Crypto,
    flag: Callable[[str], list[redaction.Flag]],
) -> list[MessageOut]:
    """The conversation, the reporter's own words flagged as the report's text is."""
    rows = session.exec(
        select(ReportMessage)
        .where(ReportMessage.report_id == report_id)
        .order_by(col(ReportMessage.id))
    ).all()
    messages = []
    for m in rows:
        text = crypto.cipher.decrypt(m.body_enc, purpose=PURPOSE_MESSAGE)
        flags = [] if m.author == MessageAuthor.moderator else flag(text)
        messages.append(
            MessageOut(
                author=m.author,
                text=text,
                at=aware(m.created_at) or utcnow(),
                flags=[FlagOut(**asdict(f)) for f in flags],
            )
        )
    return messages


def notes(
    session: Session, *, crypto: Crypto, report_id: int | None = None, alert_id: int | None = None
) -> list[NoteOut]:
    query = select(ModerationNote, Moderator.username).join(
        Moderator, col(Moderator.id) == ModerationNote.moderator_id
    )
    if report_id is not None:
        query = query.where(ModerationNote.report_id == report_id)
    if alert_id is not None:
        query = query.where(ModerationNote.alert_id == alert_id)
    return [
        NoteOut(
            kind=n.kind,
            text=crypto.cipher.decrypt(n.body_enc, purpose=PURPOSE_NOTE),
            by=username,
            at=aware(n.created_at) or utcnow(),
        )
        for n, username in session.exec(query.order_by(col(ModerationNote.id))).all()
    ]


def _related_alerts(session: Session, alerts: dict[int | None, Alert]) -> list[RelatedAlert]:
    names = alerts_service.region_names_by_alert(
        session, alert_ids=[a.id for a in alerts.values() if a.id is not None]
    )
    return [
        RelatedAlert(
            ref=alert.ref,
            status=AlertStatus(alert.status),
            severity=Severity(alert.severity),
            incident_date=alert.incident_date,
            regions=names.get(alert.id or 0, []),
            report_count=alert.report_count,
        )
        for alert in sorted(alerts.values(), key=lambda a: a.id or 0, reverse=True)
    ]


def _related_reports(session: Session, ids: list[int]) -> list[RelatedReport]:
    if not ids:
        return []
    rows = session.exec(
        select(Report).where(col(Report.id).in_(ids)).order_by(col(Report.id).desc())
    ).all()
    names = claims.regions_by_code(session, {r.region_code for r in rows})
    return [
        RelatedReport(
            id=r.id or 0,
            status=ReportStatus(r.status),
            incident_date=r.incident_date,
            region=names[r.region_code].name,
        )
        for r in rows
    ]


def add_note(
    session: Session,
    crypto: Crypto,
    moderator: Moderator,
    kind: str,
    text: str,
    *,
    report_id: int | None = None,
    alert_id: int | None = None,
) -> None:
    session.add(
        ModerationNote(
            report_id=report_id,
            alert_id=alert_id,
            moderator_id=moderator.id or 0,
            kind=kind,
            body_enc=crypto.cipher.encrypt(text, purpose=PURPOSE_NOTE),
            created_at=utcnow(),
        )
    )
    session.flush()
