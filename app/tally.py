"""Monthly counts for the statistics of what leaves no row behind, or not for long: client
checks and their hits, objections received and decided, police exports. Only a name and a
count per month (UTC), never who or what."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Field, Session, SQLModel, col, select

from app.db import insert_for, utcnow


class Tally(SQLModel, table=True):
    month: str = Field(primary_key=True, max_length=7)  # "YYYY-MM"
    name: str = Field(primary_key=True, max_length=32)  # "checks", "objections.upheld", ...
    count: int = 0


def add(session: Session, name: str, n: int = 1) -> None:
    """Count `n` more of `name` this month: one statement that creates the month's row or
    adds to it, safe under concurrent requests."""
    statement = insert_for(session)(Tally).values(
        month=utcnow().strftime("%Y-%m"), name=name, count=n
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["month", "name"], set_={"count": Tally.count + statement.excluded.count}
        )
    )


def counts(session: Session, *, months: Iterable[str]) -> list[Tally]:
    return list(session.exec(select(Tally).where(col(Tally.month).in_(list(months)))))
