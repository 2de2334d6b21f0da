"""Prometheus metrics: the state of the queue and the outbox, read from the database at
scrape time, and how long the providers take, measured by the worker in this process.

Only counts and durations: no label ever holds an identifier, a region or a text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlmodel import col

from alerts.models import Delivery, DeliveryStatus
from app.db import SessionFactory, aware, utcnow
from app.reports.models import Report, ReportStatus

SEND_SECONDS = Histogram(
    "redflag_provider_send_seconds",
    "Time a provider took to accept (or refuse) one message",
    ["channel", "outcome"],  # outcome: sent, retry, failed
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=None,
)
MESSAGES = Counter(
    "redflag_messages",
    "Messages handed to a provider, by what came of it",
    ["channel", "outcome"],
    registry=None,
)


@functools.cache
def send_meters(channel: str, outcome: str) -> tuple[Histogram, Counter]:
    """The time and count meters of one channel and outcome, looked up once, not per message."""
    return SEND_SECONDS.labels(channel, outcome), MESSAGES.labels(channel, outcome)


class DatabaseCollector(Collector):
    """Reports by status, the age of the oldest report waiting for review, and delivery
    rows by status (with how many of the pending ones are due now)."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    def describe(self) -> Iterator[Metric]:
        """Nothing up front: otherwise registering would query the database at start-up,
        and an app whose database is down could not even start to say so."""
        return iter(())

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        with self.session_factory() as session:
            reports = dict(
                session.execute(
                    select(col(Report.status), func.count()).group_by(col(Report.status))
                ).all()
            )
            oldest = session.execute(
                select(func.min(Report.submitted_at)).where(
                    col(Report.status) == ReportStatus.submitted
                )
            ).scalar()
            deliveries = dict(
                session.execute(
                    select(col(Delivery.status), func.count()).group_by(col(Delivery.status))
                ).all()
            )
            due = session.execute(
                select(func.count()).where(
                    col(Delivery.status) == DeliveryStatus.pending, col(Delivery.due_at) <= now
                )
            ).scalar_one()

        by_status = GaugeMetricFamily("redflag_reports", "Reports by status", labels=["status"])
        for status in ReportStatus:
            by_status.add_metric([status.value], reports.get(status.value, 0))
        yield by_status
        oldest = aware(oldest)
        yield GaugeMetricFamily(
            "redflag_queue_oldest_seconds",
            "Age of the oldest report waiting for a moderator (0: none waiting)",
            value=(now - oldest).total_seconds() if oldest else 0,
        )
        outbox = GaugeMetricFamily(
            "redflag_deliveries", "Delivery rows by status", labels=["status"]
        )
        for delivery_status in DeliveryStatus:
            outbox.add_metric([delivery_status.value], deliveries.get(delivery_status.value, 0))
        yield outbox
        yield GaugeMetricFamily(
            "redflag_deliveries_due", "Pending messages whose time has come", value=due
        )


def registry(session_factory: SessionFactory | None) -> CollectorRegistry:
    """What this process reports: the providers' timings, and the database's state when
    given a session factory (the app; a worker without one reports its sends only)."""
    made = CollectorRegistry(auto_describe=True)
    made.register(SEND_SECONDS)
    made.register(MESSAGES)
    if session_factory is not None:
        made.register(DatabaseCollector(session_factory))
    return made
