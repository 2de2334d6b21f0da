"""The schema comes only from migrations, and they agree with the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.db import make_engine
from app.migrate import downgrade, upgrade
from migrations.metadata import metadata
from tests.conftest import TestDatabase


def test_models_and_migrations_agree(database: TestDatabase) -> None:
    engine = make_engine(database.fresh())
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == [], f"models and migrations differ: {differences}"


def test_migrations_go_down_and_up_again(database: TestDatabase) -> None:
    engine = make_engine(database.fresh())
    try:
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert {"region", "report", "report_identifier", "report_message"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()


def test_constraint_names_follow_the_convention(database: TestDatabase) -> None:
    engine = make_engine(database.fresh())
    try:
        inspector = inspect(engine)
        assert inspector.get_pk_constraint("report")["name"] in {
            "pk_report",
            None,
        }  # SQLite: unnamed
        uniques = {u["name"] for u in inspector.get_unique_constraints("report")}
        assert "uq_report_receipt_hash" in uniques
        fks = {fk["name"] for fk in inspector.get_foreign_keys("report_identifier")}
        assert "fk_report_identifier_report_id_report" in fks
    finally:
        engine.dispose()
