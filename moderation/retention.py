"""Retention, all of it: the steps of every domain, in order, for `redflag purge` and the
workers' hourly run. It lives here because moderation is the one domain that sees all
the others (app, alerts); the worker is handed `run` by whoever starts it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import Session, col

from alerts import applications
from alerts import service as alerts_service
from alerts.check import watch as check_watch
from alerts.delivery import outbox as delivery
from alerts.subscriptions import commands
from alerts.subscriptions import push as push_subscriptions
from alerts.subscriptions import service as subscriptions
from app.db import rows_changed
from app.reports import service as reports_service
from app.reports.models import Report
from app.retention import Policy, Step
from app.settings import Settings
from moderation.models import ModerationNote
from moderation.objections import service as objections

log = logging.getLogger("redflag.retention")


def purge_notes(session: Session, policy: Policy) -> int:
    """Moderators' notes on a report go with its text (they may quote it)."""
    purged_reports = select(col(Report.id)).where(col(Report.text_purged_at).is_not(None))
    return rows_changed(
        session, delete(ModerationNote).where(col(ModerationNote.report_id).in_(purged_reports))
    )


STEPS: list[tuple[str, Step]] = [
    ("report texts purged", reports_service.purge_decided),
    ("moderation notes purged", purge_notes),
    ("alerts expired", alerts_service.expire),
    ("delivery rows pruned", delivery.prune),
    ("unconfirmed sign-ups deleted", subscriptions.purge_unconfirmed),
    ("expired codes deleted", subscriptions.purge_expired_codes),
    ("handled inbound messages forgotten", commands.prune_processed),
    ("check watch entries deleted", check_watch.purge_old),
    # Before the applications: one waiting for a decision keeps its push sign-up this time.
    ("push sign-ups that never applied deleted", push_subscriptions.purge_pending),
    ("undecided applications deleted", applications.purge_undecided),
    ("decided objections deleted", objections.purge_decided),
]


def run(session: Session, settings: Settings, *, now: datetime | None = None) -> dict[str, int]:
    """Every step under the configured policy; flushes, the caller commits."""
    policy = Policy.from_settings(settings, now=now)
    done = {name: step(session, policy) for name, step in STEPS}
    if any(done.values()):
        log.info("retention: %s", ", ".join(f"{n} {name}" for name, n in done.items() if n))
    return done
