"""`redflag migrate`: Alembic to head, then the region tree if there is none yet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlmodel import Session

import migrations
from app.db import make_engine
from app.regions import service as regions_service
from app.settings import Settings


@dataclass
class MigrateResult:
    regions: regions_service.LoadResult | None


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


def migration_head() -> str:
    """The revision this version of redflag needs."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, lambda config: command.upgrade(config, revision))


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, lambda config: command.downgrade(config, revision))


def _run(engine: Engine, action: object) -> None:
    config = alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # SQLite rebuilds tables in batch mode; with foreign keys on, dropping the old
            # table would cascade-delete the rows that point at it. Off for the migration
            # (only possible outside a transaction), checked, and back on afterwards.
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                action(config)  # type: ignore[operator]
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                connection.commit()
                if broken:
                    raise RuntimeError(f"migration left {len(broken)} broken foreign keys")
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def load_regions(engine: Engine, path: Path) -> regions_service.LoadResult:
    tree = regions_service.read_region_file(path)
    with Session(engine) as session:
        result = regions_service.load_tree(session, tree=tree)
        session.commit()
    return result


def migrate(settings: Settings, *, regions_file: Path | None = None) -> MigrateResult:
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            empty = not regions_service.has_regions(session)
        result = None
        if regions_file is not None or empty:
            path = regions_file or settings.regions_file or regions_service.builtin_file()
            result = load_regions(engine, path)
        return MigrateResult(regions=result)
    finally:
        engine.dispose()
