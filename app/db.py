"""Engines and sessions. The schema itself only ever comes from Alembic migrations."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

SessionFactory = Callable[[], Session]


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: datetime | None) -> datetime | None: ...
def aware(moment: datetime | None) -> datetime | None:
    """A time read back from the database, in UTC: SQLite hands back naive datetimes."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def coarse_now() -> datetime:
    """The current hour, for timestamps that must not line up with network logs."""
    return utcnow().replace(minute=0, second=0, microsecond=0)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine that never puts bound values (ciphertexts, digests) into errors or logs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():  # readable by this user only; SQLite's -wal/-shm follow suit
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        engine = create_engine(
            url, hide_parameters=True, connect_args={"check_same_thread": False}, **kwargs
        )
        _make_sqlite_behave(engine)
        return engine
    # A database that does not answer is an error within seconds, not a hung request.
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(url, hide_parameters=True, pool_pre_ping=True, **kwargs)


def _make_sqlite_behave(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; we issue BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA secure_delete=ON")  # purged ciphertext is overwritten, not left
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout
        # instead of failing when a read transaction tries to upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def rows_changed(session: Session, statement: Any) -> int:
    """Run a bulk INSERT, UPDATE or DELETE; how many rows it wrote. SQLAlchemy keeps the
    count only when asked to: without preserve_rowcount, PostgreSQL's reads -1."""
    result = session.execute(statement.execution_options(preserve_rowcount=True))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def make_session_factory(bind: Any, **kwargs: Any) -> SessionFactory:
    return sessionmaker(bind=bind, class_=Session, expire_on_commit=False, **kwargs)


def is_postgres(engine_or_url: Engine | str) -> bool:
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return make_url(url).get_backend_name() == "postgresql"


def insert_for(session: Session) -> Any:
    """The dialect's INSERT (PostgreSQL's or SQLite's), for ON CONFLICT DO UPDATE: a
    counter that one statement creates or adds to, safely under concurrent requests."""
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
