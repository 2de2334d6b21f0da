"""The moderators' watch on the client check: members who asked about more different
numbers in a day than REDFLAG_CHECK_DAILY_NUMBERS allows (alerts/check/watch.py)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class CheckWatch(SQLModel, table=True):
    """One member over the limit on one UTC day: how many different numbers they asked
    about, answered or refused. Never which numbers, never the contact; deleted after
    REDFLAG_CHECK_WATCH_DAYS, and with the subscriber."""

    __tablename__ = "check_watch"

    subscriber_id: int = Field(foreign_key="subscriber.id", ondelete="CASCADE", primary_key=True)
    day: date = Field(primary_key=True)
    numbers: int
