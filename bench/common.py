"""What the benchmarks share: a fresh, migrated database, and where PostgreSQL is."""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from collections.abc import Callable

from sqlalchemy.engine import make_url

from app.db import make_engine
from app.migrate import load_regions, upgrade
from app.regions.service import builtin_file


def add_postgres_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "REDFLAG_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL server where the benchmark may create and drop a database",
    )


def fresh_database(kind: str, postgres_url: str) -> tuple[str, Callable[[], None] | None]:
    """A new, migrated database with the Dutch regions; returns its URL and a cleanup."""
    if kind == "sqlite":
        directory = tempfile.mkdtemp(prefix="redflag-bench-")
        url = f"sqlite:///{directory}/bench.db"
        cleanup = None
    else:
        name = f"redflag_bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)

        def cleanup() -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    engine = make_engine(url)
    upgrade(engine)
    load_regions(engine, builtin_file())
    engine.dispose()
    return url, cleanup
