"""The queue and claims on its reports.

A moderator claims a report (a lease: 15 minutes, renewable) before reading it, and
only the claimant can decide on it (moderation/decisions.py). Rows are locked while they
are claimed or decided on (FOR UPDATE on PostgreSQL; SQLite takes one writer at a time),
so two moderators can never both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from alerts import service as alerts_service
from app.db import aware, utcnow
from app.errors import Conflict, NotFound
from app.regions.models import Region, RegionPublic
from app.reports import service as reports_service
from app.reports.models import MessageAuthor, Report, ReportIdentifier, ReportMessage, ReportStatus
from app.settings import Settings
from moderation import audit
from moderation.models import Moderator
from moderation.schemas import QueueItem

AWAITING = (ReportStatus.submitted.value, ReportStatus.in_review.value)


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
    regions = regions_by_code(session, {r.region_code for r in reports})
    names = _usernames(session, {r.claimed_by_id for r in reports if claim_is_live(r, now)})
    reports_by_digest, digests_by_report = shared_identifiers(session, ids)
    added = _additions(session, ids)
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
                added_information=added.get(r.id, 0),
                third_party=r.third_party,
            )
        )
    return items


def _additions(session: Session, report_ids: list[int]) -> dict[int, int]:
    """How many times each report's reporter added information."""
    if not report_ids:
        return {}
    rows = session.exec(
        select(ReportMessage.report_id, func.count())
        .where(
            col(ReportMessage.report_id).in_(report_ids),
            ReportMessage.author == MessageAuthor.addition.value,
        )
        .group_by(col(ReportMessage.report_id))
    ).all()
    return {report_id: count for report_id, count in rows}


def regions_by_code(session: Session, codes: set[str]) -> dict[str, RegionPublic]:
    rows = session.exec(select(Region).where(col(Region.code).in_(codes))).all()
    return {r.code: RegionPublic(code=r.code, name=r.name, level=r.level) for r in rows}


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(select(Moderator).where(col(Moderator.id).in_(wanted))).all()
    return {m.id: m.username for m in rows if m.id is not None}


def shared_identifiers(
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


def lock_report(session: Session, report_id: int) -> Report:
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
    report = lock_report(session, report_id)
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
    report = lock_report(session, report_id)
    require_claim(report, moderator, version=None)
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


def require_claim(report: Report, moderator: Moderator, *, version: int | None) -> None:
    if report.status != ReportStatus.in_review:
        raise Conflict(f"This report is {report.status}: it is not being reviewed.")
    if report.claimed_by_id != moderator.id or not claim_is_live(report, utcnow()):
        raise Conflict("Claim this report first (a claim lapses after 15 minutes without renewal).")
    if version is not None and version != report.version:
        raise Conflict(
            f"This report changed since you opened it (version {version}, now {report.version}). "
            "Reload it and decide again."
        )


@dataclass(frozen=True)
class NotYours:
    """Why a moderator cannot read a report, and whether claiming it would help."""

    report: Report | None
    message: str
    claimable: bool


def not_yours(session: Session, *, report_id: int, moderator: Moderator, refusal: str) -> NotYours:
    """Who holds the report, if someone else does; else `refusal` (why reading was refused)."""
    report = session.get(Report, report_id)
    if report is None:
        return NotYours(None, refusal, claimable=False)
    try:
        _refuse_if_held_by_other(session, report, moderator, utcnow())
    except HeldByOther as held:
        return NotYours(report, held.message, claimable=False)
    return NotYours(report, refusal, claimable=report.status in AWAITING)
