"""On PostgreSQL the API stores reports on the event loop's own connections
(app.db.make_loop_pool), those that arrive together in one statement (app.reports.intake,
app.groupcommit); everywhere else, and for the web form, through a worker thread
(service.submit). Both must store the same report."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, cast

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from app import receipts
from app.crypto import Crypto
from app.db import make_engine, make_loop_pool, make_session_factory
from app.errors import InvalidInput
from app.main import create_app
from app.reports import intake
from app.reports.models import (
    PURPOSE_DESCRIPTION,
    PURPOSE_IDENTIFIER,
    PURPOSE_TEXT,
    Report,
    ReportCreate,
    ReportIdentifier,
)
from app.settings import Settings
from tests.conftest import PostgresDatabase
from tests.helpers import report_body

IDENTIFIERS = {
    "phones": ["06 1234 5678", "0031612345678", "+31 20 123 4567"],  # two spellings of one
    "emails": ["Someone@Example.ORG"],
    "plates": ["12-abc-3"],
    "handles": ["https://example.com/ads/dutchguy88"],
    "description": "tall, grey coat, smells of smoke",
}


@pytest.fixture
def on_postgresql(
    postgres: PostgresDatabase, make_settings: Callable[..., Settings]
) -> Iterator[tuple[TestClient, Engine, Settings]]:
    """The app serving its own fresh PostgreSQL database (its lifespan running), and an
    engine to look into that database."""
    settings = make_settings(database_url=postgres.fresh())
    engine = make_engine(settings.database_url)
    with TestClient(create_app(settings)) as client:
        yield client, engine, settings
    engine.dispose()


def stored(engine: Engine, crypto: Crypto, report_id: int) -> dict[str, Any]:
    """A stored report as a person would read it: decrypted, without ids, hashes or times."""
    with Session(engine) as session:
        report = session.get(Report, report_id)
        assert report is not None and report.what_happened_enc is not None
        rows = session.exec(select(ReportIdentifier).where(ReportIdentifier.report_id == report_id))
        identifiers = sorted(
            (
                row.kind,
                crypto.cipher.decrypt(row.value_enc, purpose=PURPOSE_IDENTIFIER),
                row.blind_index.hex(),
            )
            for row in rows
        )
        description = report.perpetrator_description_enc
        return {
            "status": report.status,
            "region": report.region_code,
            "date": report.incident_date,
            "part_of_day": report.part_of_day,
            "categories": report.categories,
            "urgency": report.urgency,
            "text": crypto.cipher.decrypt(report.what_happened_enc, purpose=PURPOSE_TEXT),
            "description": description
            and crypto.cipher.decrypt(description, purpose=PURPOSE_DESCRIPTION),
            "consent_police": report.consent_police,
            "language": report.language,
            "identifiers": identifiers,
        }


def loop_pool(client: TestClient) -> AsyncConnectionPool | None:
    pool: AsyncConnectionPool | None = cast(FastAPI, client.app).state.loop_pool
    return pool


def report_ids(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return sorted(session.exec(select(Report.id)).all())  # type: ignore[arg-type]


def test_only_postgresql_gets_a_pool_for_the_event_loop() -> None:
    assert make_loop_pool("sqlite:///reports.db") is None
    assert make_loop_pool("postgresql+psycopg://postgres@127.0.0.1:5432/x") is not None


def test_the_event_loop_and_a_thread_store_the_same_report(
    on_postgresql: tuple[TestClient, Engine, Settings],
) -> None:
    client, engine, settings = on_postgresql
    crypto = Crypto.from_settings(settings)
    pool = loop_pool(client)
    assert pool is not None, "no pool for the event loop on PostgreSQL"
    body = report_body(
        categories=["threats", "robbery"],
        part_of_day="evening",
        consent_police=True,
        language="nl",
        perpetrator=IDENTIFIERS,
    )

    on_loop = client.post("/api/v1/reports", json=body)
    assert on_loop.status_code == 201, on_loop.text
    assert pool.get_stats()["requests_num"] == 1, "not stored on the event loop's pool"
    (loop_id,) = report_ids(engine)

    # The same report through the thread path, into the same database.
    threaded_app = create_app(settings, session_factory=make_session_factory(engine))
    with TestClient(threaded_app) as threaded:
        assert threaded.post("/api/v1/reports", json=body).status_code == 201
    (thread_id,) = set(report_ids(engine)) - {loop_id}

    seen = stored(engine, crypto, loop_id)
    assert seen == stored(engine, crypto, thread_id)
    assert seen["status"] == "submitted" and seen["region"] == "GM0106"
    assert seen["categories"] == ["threats", "robbery"] and seen["consent_police"] is True
    assert seen["text"] == body["what_happened"]
    assert seen["description"] == IDENTIFIERS["description"]
    values = [(kind, value) for kind, value, _ in seen["identifiers"]]
    assert values == [
        ("email", "someone@example.org"),
        ("handle", "dutchguy88"),
        ("phone", "+31201234567"),
        ("phone", "+31612345678"),  # the two spellings stored once
        ("plate", "12ABC3"),
    ]
    for kind, value, index in seen["identifiers"]:
        assert index == crypto.index.digest(kind, value).hex()

    # The receipt code shown works where every other code does.
    code = on_loop.json()["receipt_code"]
    status = client.get("/api/v1/reports/status", headers={"X-Receipt-Code": code})
    assert (status.status_code, status.json()["status"]) == (200, "submitted")


def test_refused_reports_leave_nothing_behind(
    on_postgresql: tuple[TestClient, Engine, Settings],
) -> None:
    client, engine, _ = on_postgresql
    unknown = client.post("/api/v1/reports", json=report_body(region="GM9999"))
    assert unknown.status_code == 422
    assert [e["type"] for e in unknown.json()["detail"]] == ["unknown_region"]

    both = client.post(
        "/api/v1/reports",
        json=report_body(region="gm9999", perpetrator={"phones": ["06 1234"]}),
    )
    assert both.status_code == 422
    assert [(e["field"], e["type"]) for e in both.json()["detail"]] == [
        ("region", "unknown_region"),
        ("perpetrator.phones.0", "invalid_phone"),
    ]
    bad_phone = client.post("/api/v1/reports", json=report_body(perpetrator={"phones": ["x"]}))
    assert [e["field"] for e in bad_phone.json()["detail"]] == ["perpetrator.phones.0"]
    nul = client.post("/api/v1/reports", json=report_body(region="GM01\u000006"))
    assert nul.status_code == 422, nul.text
    assert "\x00" not in nul.text and "GM01" not in nul.text

    with engine.connect() as connection:
        counts = connection.execute(
            text("SELECT (SELECT count(*) FROM report), (SELECT count(*) FROM report_identifier)")
        ).one()
    assert tuple(counts) == (0, 0)


def test_connections_the_server_closed_are_replaced_without_an_error(
    on_postgresql: tuple[TestClient, Engine, Settings],
) -> None:
    client, engine, _ = on_postgresql
    assert client.post("/api/v1/reports", json=report_body()).status_code == 201
    with engine.connect() as connection:  # what a restart of the server does to them
        closed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    assert closed >= 1
    for _ in range(3):  # and reports that name nobody: no identifier rows
        assert client.post("/api/v1/reports", json=report_body(perpetrator={})).status_code == 201
    assert len(report_ids(engine)) == 4
    with engine.connect() as connection:
        identifiers = connection.execute(text("SELECT count(*) FROM report_identifier"))
        assert identifiers.scalar_one() == 1


class _DiesAfterStoring:
    """A connection that runs the statement, then dies before its answer arrives: what a
    crash of the server or of the network between them does."""

    def __init__(self, real: psycopg.AsyncConnection[Any]) -> None:
        self.real = real

    @property
    def broken(self) -> bool:
        return self.real.broken

    async def execute(self, sql: str, params: Any) -> psycopg.AsyncCursor[Any]:
        await self.real.execute(sql, params)  # stored: autocommit
        return await self.real.execute("SELECT pg_terminate_backend(pg_backend_pid())")


class _LosesTheFirstAnswer:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self.handed_out = 0

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        async with self.pool.connection() as connection:
            self.handed_out += 1
            yield _DiesAfterStoring(connection) if self.handed_out == 1 else connection

    async def check(self) -> None:
        await self.pool.check()


def _on_a_pool(settings: Settings, work: Callable[[AsyncConnectionPool], Any]) -> Any:
    """Run `work(pool)` on an event loop with an open pool of the loop's own kind."""
    pool = make_loop_pool(settings.database_url)
    assert pool is not None

    async def run() -> Any:
        await pool.open()
        try:
            return await work(pool)
        finally:
            await pool.close()

    return asyncio.run(run())


async def _submit_together(
    reports: intake.Intake, bodies: list[dict[str, Any]], crypto: Crypto
) -> list[Any]:
    """Each body's receipt code, or what refused it, all sent at once."""
    return await asyncio.gather(
        *(
            intake.submit(
                reports, data=ReportCreate.model_validate(body), crypto=crypto, default_region="NL"
            )
            for body in bodies
        ),
        return_exceptions=True,
    )


def _receipt_hashes(settings: Settings) -> list[bytes]:
    """The receipt hash of every stored report."""
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return [report.receipt_hash for report in session.exec(select(Report))]
    finally:
        engine.dispose()


def test_a_report_stored_just_before_its_connection_died_is_stored_once(
    postgres: PostgresDatabase, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=postgres.fresh())
    crypto = Crypto.from_settings(settings)

    async def submit(pool: AsyncConnectionPool) -> tuple[list[Any], int]:
        flaky = _LosesTheFirstAnswer(pool)
        reports = intake.make_intake(cast(AsyncConnectionPool, flaky))
        return await _submit_together(reports, [report_body()], crypto), flaky.handed_out

    [code], handed_out = _on_a_pool(settings, submit)
    assert handed_out == 2, "not tried again"
    assert _receipt_hashes(settings) == [receipts.code_hash(crypto.index, code)]


def test_reports_that_arrive_together_are_stored_together_each_as_it_was_sent(
    postgres: PostgresDatabase, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url=postgres.fresh())
    crypto = Crypto.from_settings(settings)
    bodies = [
        report_body(
            what_happened=f"Report {i}: he would not let me leave.",
            perpetrator={"phones": [f"06 1234 {i:04d}"], "emails": [f"man{i}@example.org"]},
            region="GM9999" if i % 7 == 3 else "GM0106",  # not in use: refused, stored never
        )
        for i in range(20)
    ]
    bodies[5]["region"] = "GM01\u000006"  # a value PostgreSQL cannot store: 422, alone

    async def submit_all(pool: AsyncConnectionPool) -> tuple[list[Any], int]:
        outcomes = await _submit_together(intake.make_intake(pool), bodies, crypto)
        return outcomes, pool.get_stats()["requests_num"]

    outcomes, statements = _on_a_pool(settings, submit_all)
    refused = {3, 10, 17}
    for i, outcome in enumerate(outcomes):
        if i in refused:
            assert isinstance(outcome, InvalidInput), outcome
            assert [e.type for e in outcome.errors] == ["unknown_region"]
        elif i == 5:
            assert isinstance(outcome, psycopg.DataError), outcome
        else:
            assert isinstance(outcome, str), outcome
    # One statement for the crowd, then the one with the NUL and its batch one by one.
    assert statements < len(bodies) / 2, statements

    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            by_hash = {report.receipt_hash: report.id for report in session.exec(select(Report))}
        assert len(by_hash) == len(bodies) - len(refused) - 1
        for i, code in enumerate(outcomes):
            if not isinstance(code, str):
                continue
            report_id = by_hash.pop(receipts.code_hash(crypto.index, code))  # type: ignore[arg-type]
            seen = stored(engine, crypto, report_id)
            assert seen["text"] == bodies[i]["what_happened"]
            assert [value for _, value, _ in seen["identifiers"]] == [
                f"man{i}@example.org",
                f"+3161234{i:04d}",
            ]
        assert by_hash == {}
    finally:
        engine.dispose()


def test_a_batch_stored_just_before_its_connection_died_is_stored_once_and_answered_right(
    postgres: PostgresDatabase, make_settings: Callable[..., Settings]
) -> None:
    """The first try stored the report whose region is in use and not the other; the
    retry must say so, for each, without storing anything twice."""
    settings = make_settings(database_url=postgres.fresh())
    crypto = Crypto.from_settings(settings)

    async def submit_both(pool: AsyncConnectionPool) -> tuple[list[Any], int]:
        flaky = _LosesTheFirstAnswer(pool)
        reports = intake.make_intake(cast(AsyncConnectionPool, flaky))
        bodies = [report_body(region=region) for region in ["GM0106", "GM9999"]]
        return await _submit_together(reports, bodies, crypto), flaky.handed_out

    (code, unknown), handed_out = _on_a_pool(settings, submit_both)
    assert handed_out == 2, "not tried again"
    assert isinstance(unknown, InvalidInput)
    assert [e.type for e in unknown.errors] == ["unknown_region"]
    assert _receipt_hashes(settings) == [receipts.code_hash(crypto.index, code)]
