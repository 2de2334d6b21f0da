"""The review workflow: the queue, claims, reading a report, and the decisions.

A moderator claims a report (a lease: 15 minutes, renewable) before reading it, and
only the claimant can decide on it. Every change bumps the report's version; a decision
names the version it was made on, and is refused when the report changed since.
Rows are locked while they are decided on (FOR UPDATE on PostgreSQL; SQLite takes
one writer at a time), so two moderators can never both win.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from alerts import render
from alerts import service as alerts_service
from alerts.models import Alert, AlertReport, AlertStatus, Severity
from app.crypto import Crypto
from app.db import utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.identifiers import IdentifierKind, InvalidIdentifier, normalise
from app.regions.models import Region, RegionPublic
from app.reports import service as reports_service
from app.reports.models import (
    PURPOSE_DESCRIPTION,
    PURPOSE_IDENTIFIER,
    PURPOSE_MESSAGE,
    PURPOSE_TEXT,
    Report,
    ReportIdentifier,
    ReportMessage,
    ReportStatus,
)
from app.settings import Settings
from moderation import audit, redaction
from moderation.models import PURPOSE_NOTE, AlertReview, ModerationNote, Moderator
from moderation.schemas import (
    AlertContent,
    DecisionOut,
    DuplicateIn,
    FlagOut,
    IdentifierOut,
    MessageOut,
    NoteOut,
    PublishIn,
    QueueItem,
    RejectIn,
    RelatedAlert,
    RelatedReport,
    ReportReview,
    RequestInfoIn,
)

AWAITING = (ReportStatus.submitted.value, ReportStatus.in_review.value)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def claim_is_live(report: Report, now: datetime) -> bool:
    expires = aware(report.claim_expires_at)
    return report.claimed_by_id is not None and expires is not None and expires > now


# ---- the queue ------------------------------------------------------------------------------


def queue(session: Session, *, limit: int = 200) -> list[QueueItem]:
    """Reports awaiting review, most urgent first, then oldest: never their text."""
    now = utcnow()
    reports = session.exec(
        select(Report)
        .where(col(Report.status).in_(AWAITING))
        .order_by(col(Report.urgency).desc(), col(Report.submitted_at), col(Report.id))
        .limit(limit)
    ).all()
    ids = [r.id for r in reports if r.id is not None]
    regions = _regions(session, {r.region_code for r in reports})
    names = _usernames(session, {r.claimed_by_id for r in reports if claim_is_live(r, now)})
    reports_by_digest, digests_by_report = _shared_identifiers(session, ids)
    live = alerts_service.live_alerts_matching(
        session, blind_indexes=[d for ds in digests_by_report.values() for d in ds]
    )
    items = []
    for r in reports:
        assert r.id is not None
        digests = digests_by_report.get(r.id, set())
        others = {rid for d in digests for rid in reports_by_digest.get(d, set())} - {r.id}
        alerts = {a.ref for d in digests for a in live.get(d, [])}
        held = claim_is_live(r, now)
        submitted = aware(r.submitted_at) or now
        items.append(
            QueueItem(
                id=r.id,
                version=r.version,
                status=ReportStatus(r.status),
                urgency=r.urgency,
                categories=r.categories,
                region=regions[r.region_code],
                incident_date=r.incident_date,
                part_of_day=r.part_of_day,
                submitted_at=submitted,
                age_hours=max(0, int((now - submitted).total_seconds() // 3600)),
                claimed_by=names.get(r.claimed_by_id or 0) if held else None,
                claim_expires_at=aware(r.claim_expires_at) if held else None,
                matching_reports=len(others),
                matching_alerts=len(alerts),
            )
        )
    return items


def _regions(session: Session, codes: set[str]) -> dict[str, RegionPublic]:
    rows = session.exec(select(Region).where(col(Region.code).in_(codes))).all()
    return {r.code: RegionPublic(code=r.code, name=r.name, level=r.level) for r in rows}


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(select(Moderator).where(col(Moderator.id).in_(wanted))).all()
    return {m.id: m.username for m in rows if m.id is not None}


def _shared_identifiers(
    session: Session, report_ids: list[int]
) -> tuple[dict[bytes, set[int]], dict[int, set[bytes]]]:
    """For these reports' identifiers: which reports (any) name each, and each report's."""
    if not report_ids:
        return {}, {}
    own = session.exec(
        select(ReportIdentifier.report_id, ReportIdentifier.blind_index).where(
            col(ReportIdentifier.report_id).in_(report_ids)
        )
    ).all()
    digests_by_report: dict[int, set[bytes]] = {}
    for report_id, digest in own:
        digests_by_report.setdefault(report_id, set()).add(digest)
    all_digests = {d for ds in digests_by_report.values() for d in ds}
    reports_by_digest: dict[bytes, set[int]] = {}
    if all_digests:
        for report_id, digest in session.exec(
            select(ReportIdentifier.report_id, ReportIdentifier.blind_index).where(
                col(ReportIdentifier.blind_index).in_(all_digests)
            )
        ).all():
            reports_by_digest.setdefault(digest, set()).add(report_id)
    return reports_by_digest, digests_by_report


# ---- claims ---------------------------------------------------------------------------------


def _locked(session: Session, report_id: int) -> Report:
    report = session.exec(select(Report).where(Report.id == report_id).with_for_update()).first()
    if report is None:
        raise NotFound("No such report.")
    return report


class HeldByOther(Conflict):
    def __init__(self, username: str, until: datetime) -> None:
        super().__init__(f"{username} is working on this report until {until:%H:%M} UTC.")
        self.username = username
        self.until = until


def _refuse_if_held_by_other(
    session: Session, report: Report, moderator: Moderator, now: datetime
) -> None:
    if claim_is_live(report, now) and report.claimed_by_id != moderator.id:
        holder = session.get(Moderator, report.claimed_by_id)
        raise HeldByOther(
            holder.username if holder else "another moderator",
            aware(report.claim_expires_at) or now,
        )


def claim(session: Session, *, report_id: int, moderator: Moderator, settings: Settings) -> Report:
    """Take a report (or renew your claim): nobody else can decide on it until it lapses."""
    report = _locked(session, report_id)
    now = utcnow()
    if report.status not in AWAITING:
        raise Conflict(f"This report is {report.status}: there is nothing to claim.")
    _refuse_if_held_by_other(session, report, moderator, now)
    renewing = report.claimed_by_id == moderator.id and report.status == ReportStatus.in_review
    if report.status == ReportStatus.submitted:
        reports_service.transition(report, ReportStatus.in_review)
    report.claimed_by_id = moderator.id
    report.claim_expires_at = now + timedelta(minutes=settings.claim_minutes)
    session.add(report)
    action = "report.claim.renew" if renewing else "report.claim"
    audit.record(
        session, moderator_id=moderator.id, action=action, target_type="report", target_id=report.id
    )
    return report


def claim_next(session: Session, *, moderator: Moderator, settings: Settings) -> Report:
    """The most urgent report nobody holds (not even you), claimed."""
    for item in queue(session):
        if item.claimed_by is None:
            try:
                return claim(session, report_id=item.id, moderator=moderator, settings=settings)
            except HeldByOther:  # taken a moment ago by someone else: try the next one
                continue
    raise NotFound("The queue is empty: no report is waiting for review.")


def release(session: Session, *, report_id: int, moderator: Moderator) -> Report:
    report = _locked(session, report_id)
    _require_claim(report, moderator, version=None)
    reports_service.transition(report, ReportStatus.submitted)
    session.add(report)
    audit.record(
        session,
        moderator_id=moderator.id,
        action="report.release",
        target_type="report",
        target_id=report.id,
    )
    return report


def _require_claim(report: Report, moderator: Moderator, *, version: int | None) -> None:
    if report.status != ReportStatus.in_review:
        raise Conflict(f"This report is {report.status}: it is not being reviewed.")
    if report.claimed_by_id != moderator.id or not claim_is_live(report, utcnow()):
        raise Conflict("Claim this report first (a claim lapses after 15 minutes without renewal).")
    if version is not None and version != report.version:
        raise Conflict(
            f"This report changed since you opened it (version {version}, now {report.version}). "
            "Reload it and decide again."
        )


# ---- reading a report ------------------------------------------------------------------------


def review(
    session: Session, *, report_id: int, moderator: Moderator, crypto: Crypto, settings: Settings
) -> ReportReview:
    """The decrypted report with redaction help and what it is related to. Claimant only."""
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("No such report.")
    _require_claim(report, moderator, version=None)
    assert report.id is not None
    cipher = crypto.cipher
    identifiers = session.exec(
        select(ReportIdentifier).where(ReportIdentifier.report_id == report.id)
    ).all()
    values = [(i, cipher.decrypt(i.value_enc, purpose=PURPOSE_IDENTIFIER)) for i in identifiers]
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

    reports_by_digest, _ = _shared_identifiers(session, [report.id])
    live = alerts_service.live_alerts_matching(
        session, blind_indexes=[i.blind_index for i in identifiers]
    )
    other_ids = sorted({rid for ids in reports_by_digest.values() for rid in ids} - {report.id})
    regions = _regions(session, {report.region_code})
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
        consent_police=report.consent_police,
        language=report.language,
        submitted_at=aware(report.submitted_at) or utcnow(),
        claim_expires_at=aware(report.claim_expires_at),
        what_happened=text,
        what_happened_flags=[FlagOut(**asdict(f)) for f in text_flags],
        description=description,
        description_flags=[FlagOut(**asdict(f)) for f in description_flags],
        suggested_text=redaction.suggested_text(text, text_flags),
        identifiers=[
            IdentifierOut(
                kind=IdentifierKind(i.kind),
                value=v,
                other_reports=sorted(reports_by_digest.get(i.blind_index, set()) - {report.id}),
                live_alerts=sorted({a.ref for a in live.get(i.blind_index, [])}),
            )
            for i, v in values
        ],
        messages=_messages(session, report.id, crypto),
        notes=notes(session, crypto=crypto, report_id=report.id),
        related_alerts=_related_alerts(
            session, {a.id: a for alerts in live.values() for a in alerts}
        ),
        related_reports=_related_reports(session, other_ids),
    )


def _messages(session: Session, report_id: int, crypto: Crypto) -> list[MessageOut]:
    rows = session.exec(
        select(ReportMessage)
        .where(ReportMessage.report_id == report_id)
        .order_by(col(ReportMessage.id))
    ).all()
    return [
        MessageOut(
            author=m.author,
            text=crypto.cipher.decrypt(m.body_enc, purpose=PURPOSE_MESSAGE),
            at=aware(m.created_at) or utcnow(),
        )
        for m in rows
    ]


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
    names = _regions(session, {r.region_code for r in rows})
    return [
        RelatedReport(
            id=r.id or 0,
            status=ReportStatus(r.status),
            incident_date=r.incident_date,
            region=names[r.region_code].name,
        )
        for r in rows
    ]


# ---- decisions ------------------------------------------------------------------------------


def alert_identifiers(content: AlertContent, *, default_region: str) -> list[tuple[str, str]]:
    found = []
    errors = []
    for i, item in enumerate(content.identifiers):
        try:
            found.append(
                (item.kind.value, normalise(item.kind, item.value, default_region=default_region))
            )
        except InvalidIdentifier as exc:
            errors.append(FieldError(("identifiers", i, "value"), exc.code, exc.message))
    if errors:
        raise InvalidInput(errors)
    return found


def check_regions(session: Session, codes: list[str]) -> list[str]:
    wanted = [c.strip().upper() for c in codes]
    known = set(
        session.exec(select(Region.code).where(col(Region.code).in_(wanted), Region.active)).all()
    )
    errors = [
        FieldError(("regions", i), "unknown_region", "unknown region code")
        for i, code in enumerate(wanted)
        if code not in known
    ]
    if errors:
        raise InvalidInput(errors)
    return wanted


def refuse_long_sms(
    session: Session, *, draft: alerts_service.AlertDraft, settings: Settings
) -> None:
    """The segment cap (REDFLAG_SMS_MAX_SEGMENTS) holds in every language, or nothing goes out."""
    view = alerts_service.draft_view(session, draft=draft)
    cap = settings.sms_max_segments
    over = {
        lang: length
        for lang, length in render.sms_lengths(view, masking=settings.identifier_masking).items()
        if length.segments > cap
    }
    if over:
        lang, length = max(over.items(), key=lambda item: item[1].units)
        per_part = 153 if length.encoding == "GSM-7" else 67
        excess = length.units - cap * per_part
        message = (
            f"the {lang.upper()} SMS would be {length.segments} messages ({length.encoding}); "
            f"the limit is {cap}: shorten the text by about {max(excess, 1)} characters"
        )
        raise InvalidInput([FieldError(("text",), "sms_too_long", message)])


def needs_four_eyes(severity: Severity, recipients: int, settings: Settings) -> bool:
    return severity is Severity.critical or recipients > settings.four_eyes_threshold


def publish(
    session: Session,
    *,
    report_id: int,
    moderator: Moderator,
    data: PublishIn,
    crypto: Crypto,
    settings: Settings,
) -> DecisionOut:
    """Turn the report into an alert; critical or far-reaching ones wait for a second moderator."""
    report = _locked(session, report_id)
    _require_claim(report, moderator, version=data.version)
    identifiers = alert_identifiers(data, default_region=settings.default_country)
    regions = check_regions(session, data.regions)
    now = utcnow()
    draft = alerts_service.AlertDraft(
        text=data.text,
        severity=data.severity,
        region_codes=regions,
        categories=[c.value for c in data.categories],
        identifiers=identifiers,
        incident_date=report.incident_date,
        part_of_day=report.part_of_day,
        expires_at=now + timedelta(days=data.expires_in_days),
    )
    refuse_long_sms(session, draft=draft, settings=settings)
    recipients = alerts_service.count_recipients(
        session, region_codes=regions, severity=data.severity
    )
    four_eyes = needs_four_eyes(data.severity, recipients, settings)
    alert = alerts_service.create(session, draft=draft, crypto=crypto, needs_approval=four_eyes)
    assert alert.id is not None
    assert report.id is not None
    alerts_service.link_report(session, alert=alert, report_id=report.id, count=False)
    session.add(
        AlertReview(
            alert_id=alert.id,
            report_id=report.id,
            published_by_id=moderator.id or 0,
            needs_approval=four_eyes,
        )
    )
    reports_service.transition(report, ReportStatus.published)
    report.decided_at = now
    session.add(report)
    audit.record(
        session,
        moderator_id=moderator.id,
        action="report.publish",
        target_type="report",
        target_id=report.id,
    )
    action = "alert.submit_for_approval" if four_eyes else "alert.publish"
    audit.record(
        session, moderator_id=moderator.id, action=action, target_type="alert", target_id=alert.ref
    )
    return DecisionOut(
        report_id=report.id,
        status=ReportStatus.published,
        alert_ref=alert.ref,
        alert_status=AlertStatus(alert.status),
    )


def reject(
    session: Session, *, report_id: int, moderator: Moderator, data: RejectIn, crypto: Crypto
) -> DecisionOut:
    report = _locked(session, report_id)
    _require_claim(report, moderator, version=data.version)
    reports_service.transition(report, ReportStatus.rejected)
    report.decided_at = utcnow()
    session.add(report)
    add_note(session, crypto, moderator, "reject", data.reason, report_id=report.id)
    audit.record(
        session,
        moderator_id=moderator.id,
        action="report.reject",
        target_type="report",
        target_id=report.id,
    )
    return DecisionOut(report_id=report_id, status=ReportStatus.rejected)


def request_info(
    session: Session, *, report_id: int, moderator: Moderator, data: RequestInfoIn, crypto: Crypto
) -> DecisionOut:
    """Ask the reporter; the report waits until they answer, then returns to the queue."""
    report = _locked(session, report_id)
    _require_claim(report, moderator, version=data.version)
    reports_service.ask_reporter(
        session, report=report, question=data.question, cipher=crypto.cipher
    )
    audit.record(
        session,
        moderator_id=moderator.id,
        action="report.request_info",
        target_type="report",
        target_id=report.id,
    )
    return DecisionOut(report_id=report_id, status=ReportStatus.needs_info)


def duplicate(
    session: Session, *, report_id: int, moderator: Moderator, data: DuplicateIn
) -> DecisionOut:
    """The report describes something an alert already covers: add it to that alert."""
    report = _locked(session, report_id)
    _require_claim(report, moderator, version=data.version)
    alert = alerts_service.get_by_ref(session, ref=data.alert_ref, for_update=True)
    if alert is None:
        raise InvalidInput(
            [FieldError(("alert_ref",), "unknown_alert", "no alert has this reference")]
        )
    if alert.status not in alerts_service.LIVE:
        raise Conflict(f"Alert {alert.ref} is {alert.status}; link the report to a live alert.")
    assert report.id is not None
    already = session.exec(
        select(AlertReport).where(
            AlertReport.alert_id == alert.id, AlertReport.report_id == report.id
        )
    ).first()
    if already is None:
        alerts_service.link_report(session, alert=alert, report_id=report.id, count=True)
    reports_service.transition(report, ReportStatus.duplicate)
    report.decided_at = utcnow()
    session.add(report)
    audit.record(
        session,
        moderator_id=moderator.id,
        action="report.duplicate",
        target_type="report",
        target_id=report.id,
    )
    audit.record(
        session,
        moderator_id=moderator.id,
        action="alert.add_report",
        target_type="alert",
        target_id=alert.ref,
    )
    return DecisionOut(
        report_id=report_id,
        status=ReportStatus.duplicate,
        alert_ref=alert.ref,
        alert_status=AlertStatus(alert.status),
    )


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
