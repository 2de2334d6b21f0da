"""A period and a level into published statistics: every table suppressed (suppression.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session

from app.errors import FieldError, InvalidInput
from moderation.statistics import measures
from moderation.statistics.measures import Level, Period
from moderation.statistics.suppression import Published, publish

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MOST_MONTHS = 60


@dataclass(frozen=True)
class Statistics:
    k: int
    period: Period
    level: Level
    names: dict[str, str]  # region code -> name
    tables: list[Published]
    median_hours: dict[str, float | None]  # by region, and "" for all: to a first decision


def parse_period(first: str, last: str) -> Period:
    """ "YYYY-MM" to "YYYY-MM", both included: months or longer, never days (a day's
    counts could point at one person); at most five years."""
    errors = []
    parsed = []
    for field, typed in (("from", first), ("to", last)):
        found = MONTH.match(typed.strip())
        if found is None:
            errors.append(FieldError((field,), "invalid_month", "a month as YYYY-MM"))
        else:
            parsed.append((int(found[1]), int(found[2])))
    if errors:
        raise InvalidInput(errors)
    window = measures.period(parsed[0], parsed[1])
    if not window.months:
        raise InvalidInput([FieldError(("to",), "before_from", "not before `from`")])
    if len(window.months) > MOST_MONTHS:
        raise InvalidInput([FieldError(("to",), "too_long", f"at most {MOST_MONTHS} months")])
    return window


def build(session: Session, *, window: Period, level: Level, k: int, country: str) -> Statistics:
    place, names = measures.placer(session, level)
    names.setdefault(country, country)
    counted = measures.reports(session, window, place)
    alerts, messages = measures.alerts_and_messages(session, window, place, country)
    members = measures.members(session, window.months[-1], place)
    national = [messages, *measures.tallied(session, window, country)]
    regions = sorted(names)
    tables = [
        publish(m, k=k, regions=regions, months=window.months)
        for m in (counted.statuses, counted.categories, alerts, members)
    ] + [
        # A message, a check or an objection has no region: they count for the whole country.
        publish(m, k=k, regions=[country], months=window.months)
        for m in national
    ]
    every = [h for hours in counted.decision_hours.values() for h in hours]
    medians = {r: measures.median_hours(h, k) for r, h in counted.decision_hours.items()}
    return Statistics(
        k, window, level, names, tables, {"": measures.median_hours(every, k), **medians}
    )
