"""Alembic environment: SQLite in batch mode, PostgreSQL as is, one metadata for both."""

from alembic import context
from sqlalchemy import Connection, pool

from app.db import make_engine
from migrations.metadata import metadata

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # handed over by app.migrate (and the tests)
        run_migrations(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from app.settings import Settings

        url = Settings().database_url
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        run_migrations(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("redflag migrations run online only: use `redflag migrate`")
run_online()
