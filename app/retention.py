"""Retention: how long things are kept (docs/operations.md has the table).

Each domain has its own steps (`purge_...`, `prune_...`) taking a session and a Policy;
moderation/retention.py, the one domain that sees all the others, runs them in order
for `redflag purge` and the workers' schedule. Every step is idempotent: two workers
running it at once, or a run cut short and started again, delete nothing twice and
count nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from app.db import utcnow
from app.settings import Settings


@dataclass(frozen=True)
class Policy:
    now: datetime
    report_days: int  # text and identifiers of a published or duplicate report
    rejected_days: int  # ... of a rejected one
    delivery_days: int  # delivery rows (their counts per alert stay)
    check_watch_days: int = 90  # the list of members over the daily check limit
    application_days: int = 30  # an application's evidence nobody decided on
    objection_keep_days: int = 90  # a decided objection, its answer included

    @classmethod
    def from_settings(cls, settings: Settings, *, now: datetime | None = None) -> Policy:
        return cls(
            now=now or utcnow(),
            report_days=settings.retention_days,
            rejected_days=settings.retention_rejected_days,
            delivery_days=settings.delivery_retention_days,
            check_watch_days=settings.check_watch_days,
            application_days=settings.application_days,
            objection_keep_days=settings.objection_keep_days,
        )

    def before(self, days: int) -> datetime:
        return self.now - timedelta(days=days)


Step = Callable[[Session, Policy], int]  # returns how many things it purged or changed
