"""The daily limit on different numbers a member checks, and the moderators' list of
members who went over it.

What was checked is counted by the rate limiter's storage (app.ratelimit.DailyDistinct:
keyed hashes of the number's blind index, per member and day, gone within a day), so
the limit is shared by every process that shares the limiter (Redis). The database
keeps only "member, day, how many", written when a member goes over.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, Field
from sqlalchemy import delete
from sqlmodel import Session, col, select

from alerts.check.models import CheckWatch
from app.db import insert_for, rows_changed
from app.errors import RateLimited
from app.ratelimit import DailyDistinct, Distinct, RateLimiter
from app.retention import Policy
from app.settings import Settings

BUCKET = "check-numbers"


class TooManyNumbers(RateLimited):
    """A new number after the day's share: refused, and the member is on the watch list
    (kept although the request answers with an error)."""

    keeps_writes: ClassVar[bool] = True

    def __init__(self, retry_after: int, most: int) -> None:
        super().__init__(retry_after)
        self.most = most
        self.message = (
            f"You have checked {most} different numbers today, the most a member can. "
            "Numbers you checked today can still be checked again; new numbers from tomorrow "
            "(UTC)."
        )


def admit(
    session: Session,
    *,
    member_id: int,
    digest: bytes,
    limiter: RateLimiter,
    settings: Settings,
) -> None:
    """Let the member check the number with this blind index, or raise TooManyNumbers
    (and put them on the watch list) when it is a new one over today's share."""
    most = settings.check_daily_numbers
    counter = DailyDistinct(limiter, bucket=BUCKET, most=most)
    admission = counter.admit(f"member:{member_id}", digest)
    if admission.outcome is Distinct.admitted:
        return
    if admission.outcome is Distinct.refused:
        _count_refusal(session, member_id=member_id, day=admission.day, most=most)
    raise TooManyNumbers(admission.retry_after, most)


def _count_refusal(session: Session, *, member_id: int, day: date, most: int) -> None:
    """One more different number asked for: the first refusal of the day writes the row
    (the share, plus this one), later ones add to it; atomic under concurrent requests."""
    statement = insert_for(session)(CheckWatch).values(
        subscriber_id=member_id, day=day, numbers=most + 1
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["subscriber_id", "day"],
            set_={"numbers": CheckWatch.numbers + 1},
        )
    )
    session.flush()


class WatchedMember(BaseModel):
    """A member over the daily limit, as moderators see it: nothing about the numbers,
    nothing about the contact."""

    member_id: int
    day: date = Field(description="The UTC day")
    numbers: int = Field(description="Different numbers asked about that day, refused included")


def watched(session: Session, *, limit: int = 500) -> list[WatchedMember]:
    """Members over the limit, newest day first, the most numbers first within a day."""
    rows = session.exec(
        select(CheckWatch)
        .order_by(col(CheckWatch.day).desc(), col(CheckWatch.numbers).desc())
        .order_by(col(CheckWatch.subscriber_id))
        .limit(limit)
    ).all()
    return [WatchedMember(member_id=r.subscriber_id, day=r.day, numbers=r.numbers) for r in rows]


def purge_old(session: Session, policy: Policy) -> int:
    """Retention: the watch list keeps REDFLAG_CHECK_WATCH_DAYS days. Returns how many."""
    oldest = policy.before(policy.check_watch_days).date()
    return rows_changed(session, delete(CheckWatch).where(col(CheckWatch.day) < oldest))
