"""The decisions on a report under review: publish, reject, ask the reporter, duplicate.

Only the moderator holding the claim decides (moderation/claims.py). Every change bumps
the report's version; a decision names the version it was made on, and is refused when
the report changed since.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from alerts import render
from alerts import service as alerts_service
from alerts.models import AlertReport, AlertStatus, Severity
from app.crypto import Crypto
from app.db import utcnow
from app.errors import Conflict, FieldError, InvalidInput
from app.identifiers import InvalidIdentifier, normalise
from app.regions import service as regions_service
from app.reports import service as reports_service
from app.reports.models import ReportStatus
from app.settings import Settings
from moderation import audit, claims, redaction, service
from moderation.models import AlertReview, Moderator
from moderation.schemas import (
    AlertContent,
    DecisionOut,
    DuplicateIn,
    PublishIn,
    RejectIn,
    RequestInfoIn,
)


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


def written_texts(content: AlertContent) -> dict[str, str]:
    """The languages the moderator wrote the alert in, {lang: text}."""
    return {lang.value: text for lang, text in content.texts.items()}


def draft_of(
    session: Session,
    content: AlertContent,
    *,
    settings: Settings,
    incident_date: date,
    part_of_day: str | None,
    expires_at: datetime,
) -> alerts_service.AlertDraft:
    """The alert as a moderator wrote it, its regions checked and its identifiers normalised
    (InvalidInput otherwise); when and until when come from what it is about."""
    return alerts_service.AlertDraft(
        text=content.text,
        texts=written_texts(content),
        severity=content.severity,
        region_codes=regions_service.check_codes(session, content.regions),
        categories=[c.value for c in content.categories],
        identifiers=alert_identifiers(content, default_region=settings.default_country),
        incident_date=incident_date,
        part_of_day=part_of_day,
        expires_at=expires_at,
    )


def refuse_long_sms(
    session: Session, *, draft: alerts_service.AlertDraft, settings: Settings
) -> None:
    """The segment cap (REDFLAG_SMS_MAX_SEGMENTS) holds in every language, or nothing goes out."""
    view = alerts_service.draft_view(session, draft=draft)

    def cap(encoding: str) -> int:
        return render.segment_cap(settings.sms_max_segments, encoding)

    over = {
        lang: length
        for lang, length in render.sms_lengths(view, masking=settings.identifier_masking).items()
        if length.segments > cap(length.encoding)
    }
    if over:
        lang, length = max(over.items(), key=lambda item: item[1].units)
        per_part = 153 if length.encoding == "GSM-7" else 67
        most = cap(length.encoding)
        excess = length.units - most * per_part
        message = (
            f"the {lang.upper()} SMS would be {length.segments} messages ({length.encoding}); "
            f"the limit is {most}: shorten the text by about {max(excess, 1)} characters"
        )
        loc = ("texts", lang) if lang in view.texts else ("text",)
        raise InvalidInput([FieldError(loc, "sms_too_long", message)])


def unchecked_flags(
    session: Session, *, report_id: int, data: PublishIn, crypto: Crypto, settings: Settings
) -> list[redaction.Flag]:
    """What the redaction help still flags in the alert's texts (the written one and every
    language's); refused unless checked.

    The client's identifiers, from the report or added to the alert, are not the reporter's."""
    reported = {
        (i.kind, value)
        for i, value in service.report_identifiers(session, report_id=report_id, crypto=crypto)
    } | set(alert_identifiers(data, default_region=settings.default_country))
    return checked_flags(
        [data.text, *data.texts.values()],
        reported=reported,
        checked=data.checked_flags,
        settings=settings,
    )


def checked_flags(
    texts: Sequence[str],
    *,
    reported: set[tuple[str, str]],
    checked: bool,
    settings: Settings,
) -> list[redaction.Flag]:
    """What the redaction help flags in the texts of an alert or an update as maybe the
    reporter's own (`reported`: the client's identifiers, never flagged); InvalidInput on
    `checked_flags` unless the moderator says they checked. Publishing, updates and
    resubmitting all ask this way."""
    flagged = redaction.reporter_flags_in(
        texts, default_region=settings.default_country, reported=reported
    )
    if flagged and not checked:
        raise InvalidInput([unchecked_error(flagged)])
    return flagged


def unchecked_error(flagged: list[redaction.Flag]) -> FieldError:
    """Names how many parts and of which kinds, never the parts themselves."""
    kinds = ", ".join(dict.fromkeys(f.kind for f in flagged))
    parts = "part" if len(flagged) == 1 else "parts"
    return FieldError(
        ("checked_flags",),
        "flags_not_checked",
        f"the alert text still has {len(flagged)} {parts} that may be the reporter's own"
        f" ({kinds}): leave out what is theirs, or confirm that you checked it is not",
    )


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
    report = claims.lock_report(session, report_id)
    claims.require_claim(report, moderator, version=data.version)
    identifiers = alert_identifiers(data, default_region=settings.default_country)
    regions = regions_service.check_codes(session, data.regions)
    flagged = unchecked_flags(
        session, report_id=report_id, data=data, crypto=crypto, settings=settings
    )
    now = utcnow()
    draft = alerts_service.AlertDraft(
        text=data.text,
        texts=written_texts(data),
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
    if flagged:  # the fact that they were checked; never the text or what was flagged
        audit.record(
            session,
            moderator_id=moderator.id,
            action="alert.flags_checked",
            target_type="alert",
            target_id=alert.ref,
        )
    return DecisionOut(
        report_id=report.id,
        status=ReportStatus.published,
        alert_ref=alert.ref,
        alert_status=AlertStatus(alert.status),
        fallback_languages=render.fallback_languages(draft.texts),
    )


def reject(
    session: Session, *, report_id: int, moderator: Moderator, data: RejectIn, crypto: Crypto
) -> DecisionOut:
    report = claims.lock_report(session, report_id)
    claims.require_claim(report, moderator, version=data.version)
    reports_service.transition(report, ReportStatus.rejected)
    report.decided_at = utcnow()
    session.add(report)
    service.add_note(session, crypto, moderator, "reject", data.reason, report_id=report.id)
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
    report = claims.lock_report(session, report_id)
    claims.require_claim(report, moderator, version=data.version)
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
    report = claims.lock_report(session, report_id)
    claims.require_claim(report, moderator, version=data.version)
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
