"""What the statistics count, read from the database: reports, alerts, messages, members.

Each is a suppression.Measure by region (at the level asked for) and month. Everything is
counted from rows that exist for their own purpose; nothing is kept for the statistics
alone, and no row is about a person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import median
from typing import Literal

from sqlalchemy import select as sql_select  # five columns: more than sqlmodel's select types
from sqlmodel import Session, col, select

from alerts.delivery import outbox
from alerts.models import Alert, AlertRegion, Membership, Subscriber, SubscriberRegion
from app import tally
from app.db import aware
from app.regions.models import Region, RegionLevel
from app.reports.models import Category, Report, ReportStatus
from moderation.statistics.suppression import Measure

Level = Literal["province", "municipality"]

OPEN = (ReportStatus.submitted, ReportStatus.in_review, ReportStatus.needs_info)
DECIDED = (ReportStatus.published, ReportStatus.rejected, ReportStatus.duplicate)
REPORT_COLUMNS = ("published", "rejected", "duplicate", "withdrawn", "open", "received")
MESSAGE_COLUMNS = tuple(
    f"{channel}_{what}" for channel in ("sms", "email") for what in ("sent", "delivered", "failed")
)
DELIVERED = {"delivered"}
FAILED = {"failed", "undelivered"}
NOT_SENT = {"pending", "sending", "cancelled"}


@dataclass(frozen=True)
class Period:
    start: datetime  # the first moment of the first month (UTC)
    end: datetime  # the first moment after the last month
    months: list[str]  # "YYYY-MM", in order

    def month_of(self, when: datetime) -> str | None:
        when = aware(when)
        return when.strftime("%Y-%m") if self.start <= when < self.end else None


def period(first: tuple[int, int], last: tuple[int, int]) -> Period:
    months = []
    year, month = first
    while (year, month) <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    after = (last[0] + 1, 1) if last[1] == 12 else (last[0], last[1] + 1)
    return Period(datetime(*first, 1, tzinfo=UTC), datetime(*after, 1, tzinfo=UTC), months)


def placer(session: Session, level: Level) -> tuple[Callable[[str], str], dict[str, str]]:
    """Where a region code counts at this level (a town under its province), and the
    names of the level's regions, by code."""
    rows = session.exec(select(Region.code, Region.name, Region.level, Region.parent_code)).all()
    parent = {code: up for code, _, _, up in rows}
    kind = {code: lvl for code, _, lvl, _ in rows}
    wanted = RegionLevel.province if level == "province" else RegionLevel.municipality

    def place(code: str) -> str:
        if level == "province" and kind.get(code) == RegionLevel.municipality:
            return parent.get(code) or code
        return code

    names = {code: name for code, name, lvl, _ in rows if lvl in {wanted, RegionLevel.country}}
    return place, names


@dataclass(frozen=True)
class ReportCounts:
    statuses: Measure
    categories: Measure
    decision_hours: dict[str, list[float]]  # by region: hours from arrival to decision


def reports(session: Session, window: Period, place: Callable[[str], str]) -> ReportCounts:
    statuses = Measure("reports", REPORT_COLUMNS, total="received")
    categories = Measure("categories", tuple(c.value for c in Category))
    hours: dict[str, list[float]] = {}
    rows = session.execute(
        sql_select(
            col(Report.region_code),
            col(Report.submitted_at),
            col(Report.status),
            col(Report.categories),
            col(Report.decided_at),
        ).where(col(Report.submitted_at) >= window.start, col(Report.submitted_at) < window.end)
    ).all()
    for region_code, submitted_at, status, report_categories, decided_at in rows:
        month = window.month_of(submitted_at)
        if month is None:
            continue
        region = place(region_code)
        statuses.add(region, month, "open" if status in OPEN else status)
        for category in report_categories:
            categories.add(region, month, category)
        if status in DECIDED and decided_at is not None:
            waited = aware(decided_at) - aware(submitted_at)
            hours.setdefault(region, []).append(waited.total_seconds() / 3600)
    return ReportCounts(statuses, categories, hours)


def alerts_and_messages(
    session: Session, window: Period, place: Callable[[str], str], country: str
) -> tuple[Measure, Measure]:
    """Alerts published, by region (an alert in two provinces counts in each), and their
    messages by channel, for the whole country (a message has no region of its own)."""
    alerts = Measure("alerts", ("published",), over_regions=False)
    messages = Measure("messages", MESSAGE_COLUMNS)
    published = session.exec(
        select(Alert).where(
            col(Alert.published_at).is_not(None),
            col(Alert.published_at) >= window.start,
            col(Alert.published_at) < window.end,
        )
    ).all()
    for alert in published:
        assert alert.id is not None
        assert alert.published_at is not None
        month = window.month_of(alert.published_at)
        if month is None:
            continue
        codes = session.exec(
            select(AlertRegion.region_code).where(AlertRegion.alert_id == alert.id)
        ).all()
        for region in {place(code) for code in codes}:
            alerts.add(region, month, "published")
        for (_, channel), by_status in outbox.counts_by_channel(session, alert_id=alert.id).items():
            for status, n in by_status.items():
                if status in NOT_SENT:
                    continue
                messages.add(country, month, f"{channel}_sent", n)
                delivered = status in DELIVERED or (channel == "email" and status == "sent")
                if delivered:
                    messages.add(country, month, f"{channel}_delivered", n)
                elif status in FAILED:
                    messages.add(country, month, f"{channel}_failed", n)
    return alerts, messages


def members(session: Session, month: str, place: Callable[[str], str]) -> Measure:
    """Confirmed members by state and region, as they are now (counted under the last
    month): counts only, a member of two regions in each."""
    measure = Measure(
        "members", tuple(m.value for m in Membership if m != Membership.removed), over_regions=False
    )
    rows = session.exec(
        select(Subscriber.id, Subscriber.membership, SubscriberRegion.region_code)
        .join(SubscriberRegion, col(SubscriberRegion.subscriber_id) == Subscriber.id)
        .where(col(Subscriber.confirmed_at).is_not(None))
    ).all()
    seen: set[tuple[int | None, str]] = set()
    for subscriber_id, state, code in rows:
        region = place(code)
        if (subscriber_id, region) not in seen:
            seen.add((subscriber_id, region))
            measure.add(region, month, state)
    return measure


def median_hours(hours: list[float], k: int) -> float | None:
    """The median wait, only over k decisions or more (fewer would describe a few people's
    reports)."""
    return round(median(hours), 1) if len(hours) >= k else None


# What app/tally.py counts, by name: the measure and column each count belongs to.
TALLIED = {
    "checks": ("checks", "checks"),
    "checks.hit": ("checks", "hits"),
    "objections.received": ("objections", "received"),
    "objections.upheld": ("objections", "upheld"),
    "objections.partly_upheld": ("objections", "partly_upheld"),
    "objections.rejected": ("objections", "rejected"),
    "police.exports": ("police", "exports"),
}


def tallied(session: Session, window: Period, country: str) -> list[Measure]:
    """What is only counted (app/tally.py), for the whole country: client checks and their
    hits, objections received and decided, police exports approved."""
    measures = {
        "checks": Measure("checks", ("checks", "hits")),
        "objections": Measure("objections", ("received", "upheld", "partly_upheld", "rejected")),
        "police": Measure("police", ("exports",)),
    }
    for row in tally.counts(session, months=window.months):
        if row.name in TALLIED:
            measure, column = TALLIED[row.name]
            measures[measure].add(country, row.month, column, row.count)
    return list(measures.values())
