"""Test fixtures. The suite runs on SQLite, and again on PostgreSQL when
REDFLAG_TEST_DATABASE_URL names a server (CI sets it). Every database is built the way
production builds it: `alembic upgrade head`, then the region tree.

Isolation: most tests share one database per backend and run inside a transaction
that is rolled back afterwards (the app's own commits become savepoints). Tests that
need real commits (a live server, a browser) get a fresh copy of the template database.
With CI=true a skipped test fails: nothing is allowed to not run there quietly.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from alerts.delivery.providers import build, close_all
from alerts.delivery.worker import make_worker
from app.crypto import Crypto
from app.db import make_engine, make_session_factory
from app.main import create_app
from app.migrate import load_regions, upgrade
from app.regions.service import builtin_file
from app.settings import Settings, new_jwt_secret, new_key
from tests.fakes import TcpGate
from tests.helpers import free_port

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = Path("/usr/bin/chromium")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, and CI=true allows no skips: {report.longrepr}"


# ---- databases ------------------------------------------------------------------------


class SqliteDatabase:
    backend = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.template = directory / "template.db"
        _build(f"sqlite:///{self.template}")

    def fresh(self) -> str:
        path = self.directory / f"{uuid.uuid4().hex}.db"
        shutil.copy(self.template, path)
        return f"sqlite:///{path}"

    def drop(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresDatabase:
    """Creates its own databases on the server named by the URL and drops them after."""

    backend = "postgres"

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.prefix = f"redflag_test_{uuid.uuid4().hex[:8]}"
        self.names: list[str] = []
        self.template = self._create(f"{self.prefix}_tpl")
        _build(self._url(self.template))

    def _url(self, name: str) -> str:
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def _admin(self, sql: str) -> None:
        engine = make_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(sql)
        finally:
            engine.dispose()

    def _create(self, name: str, template: str | None = None) -> str:
        suffix = f' TEMPLATE "{template}"' if template else ""
        self._admin(f'CREATE DATABASE "{name}"{suffix}')
        self.names.append(name)
        return name

    def fresh(self) -> str:
        name = self._create(f"{self.prefix}_{len(self.names)}", template=self.template)
        return self._url(name)

    def drop(self) -> None:
        for name in reversed(self.names):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _build(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        load_regions(engine, builtin_file())
    finally:
        engine.dispose()


TestDatabase = SqliteDatabase | PostgresDatabase


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestDatabase]:
    db: TestDatabase
    if request.param == "postgres":
        url = os.environ.get("REDFLAG_TEST_DATABASE_URL")
        if not url:
            pytest.skip("PostgreSQL tests need REDFLAG_TEST_DATABASE_URL (CI sets it)")
        db = PostgresDatabase(url)
    else:
        db = SqliteDatabase(tmp_path_factory.mktemp("sqlite"))
    yield db
    db.drop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabase]:
    """For the tests only PostgreSQL can run (faults of a database server)."""
    url = os.environ.get("REDFLAG_TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL tests need REDFLAG_TEST_DATABASE_URL (CI sets it)")
    db = PostgresDatabase(url)
    yield db
    db.drop()


@pytest.fixture(scope="session")
def shared_engine(database: TestDatabase) -> Iterator[Engine]:
    engine = make_engine(database.fresh())
    yield engine
    engine.dispose()


@pytest.fixture
def connection(shared_engine: Engine) -> Iterator[Connection]:
    with shared_engine.connect() as conn:
        transaction = conn.begin()
        yield conn
        transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with Session(bind=connection, join_transaction_mode="create_savepoint") as s:
        yield s


# ---- settings, app, client ------------------------------------------------------------


@pytest.fixture(scope="session")
def test_keys() -> dict[str, str]:
    return {"data_key": new_key(), "index_key": new_key(), "jwt_secret": new_jwt_secret()}


@pytest.fixture(scope="session")
def make_settings(
    test_keys: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Settings]:
    secrets_file = tmp_path_factory.mktemp("secrets") / "unused.env"

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "development",
            "secrets_file": secrets_file,
            "rate_limit_submit": "10000/minute",
            "rate_limit_lookup": "10000/minute",
            "rate_limit_check": "10000/minute",
            "quick_exit_url": "about:blank",
            "sms_provider": "none",
            "email_provider": "none",
            "embedded_worker": False,
            # Confirming is enough, as before membership: tests about membership ask for
            # "verified" (the default outside tests) themselves.
            "membership": "open",
            **test_keys,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings], database: TestDatabase) -> Settings:
    return make_settings(database_url="sqlite://")  # the app gets the test connection instead


@pytest.fixture
def crypto(settings: Settings) -> Crypto:
    return Crypto.from_settings(settings)


@pytest.fixture
def make_client(connection: Connection) -> Callable[..., TestClient]:
    def make(settings: Settings, **kwargs: Any) -> TestClient:
        factory = make_session_factory(connection, join_transaction_mode="create_savepoint")
        return TestClient(create_app(settings, session_factory=factory), **kwargs)

    return make


@pytest.fixture
def run_worker(connection: Connection) -> Callable[[Settings], None]:
    """Runs a worker until the outbox is empty, on the test's connection."""

    def run(settings: Settings) -> None:
        async def drain() -> None:
            providers = build(settings)
            factory = make_session_factory(connection, join_transaction_mode="create_savepoint")
            try:
                await make_worker(settings, factory, providers).drain()
            finally:
                await close_all(providers)

        asyncio.run(drain())

    return run


@pytest.fixture
def client(make_client: Callable[..., TestClient], settings: Settings) -> Iterator[TestClient]:
    with make_client(settings) as c:
        yield c


# ---- live servers ---------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    database_url: str
    settings: Settings


@pytest.fixture
def make_live_server(
    database: TestDatabase, make_settings: Callable[..., Settings]
) -> Iterator[Callable[..., LiveServer]]:
    """Start the app on a real uvicorn in this process, on its own fresh database."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**overrides: Any) -> LiveServer:
        database_url = database.fresh()
        settings = make_settings(**{**overrides, "database_url": database_url})
        port = free_port()
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.05)
        return LiveServer(f"http://127.0.0.1:{port}", database_url, settings)

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(make_live_server: Callable[..., LiveServer]) -> LiveServer:
    return make_live_server()


# ---- browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not for the session: Playwright's sync API keeps an
    event loop running on the main thread while it is open, and every later test that
    calls asyncio.run() (the delivery worker's) would fail with "cannot be called from a
    running event loop"."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


# ---- moderators -------------------------------------------------------------------------------

PASSWORD = "a long test password"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with a small cost: the same code path, without 50 ms per hash in every test."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr("moderation.security._hasher", lambda: hasher)
    monkeypatch.setattr("moderation.security._dummy_hash", lambda: hasher.hash("dummy"))


@dataclass
class Team:
    alice: Any  # moderator
    carol: Any  # moderator
    bob: Any  # admin


@pytest.fixture
def team(session: Session) -> Team:
    from moderation import accounts
    from moderation.models import Role

    made = {
        name: accounts.create(session, username=name, password=PASSWORD, role=role)
        for name, role in [
            ("alice", Role.moderator),
            ("carol", Role.moderator),
            ("bob", Role.admin),
        ]
    }
    session.commit()
    return Team(**made)


@pytest.fixture
def browser_like(
    make_client: Callable[..., TestClient], settings: Settings
) -> Callable[[], TestClient]:
    """Separate clients (cookie jars), like two moderators' browsers; redirects
    are not followed."""
    clients: list[TestClient] = []

    def make() -> TestClient:
        client = make_client(settings, follow_redirects=False)
        clients.append(client)
        return client

    yield make  # type: ignore[misc]
    for client in clients:
        client.close()


@dataclass
class Outreach:
    organisation: Any  # "Outreach Assen", working in Assen (GM0106)
    olga: Any  # its person: an account with role "organisation"


@pytest.fixture
def outreach(session: Session, team: Team) -> Outreach:
    """An organisation with one person, made by the admin bob."""
    from organisations import service

    organisation = service.create(
        session, name="Outreach Assen", regions=["GM0106"], admin=team.bob
    )
    assert organisation.id is not None
    olga = service.add_person(
        session, organisation_id=organisation.id, username="olga", password=PASSWORD, admin=team.bob
    )
    session.commit()
    return Outreach(organisation, olga)


@pytest.fixture
def auth(settings: Settings) -> Callable[[Any], dict[str, str]]:
    """Bearer headers for a moderator."""
    from moderation import security

    def headers(moderator: Any) -> dict[str, str]:
        token, _ = security.issue_token(
            moderator_id=moderator.id, role=moderator.role, settings=settings
        )
        return {"Authorization": f"Bearer {token}"}

    return headers


# ---- providers on loopback -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def twilio_server() -> Iterator[Any]:
    from tests.fakes import fake_twilio

    with fake_twilio() as fake:
        yield fake


@pytest.fixture
def twilio(twilio_server: Any) -> Any:
    twilio_server.reset()
    return twilio_server


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.fakes import smtp_server

    with smtp_server(tmp_path_factory.mktemp("smtp")) as box:
        yield box


@pytest.fixture
def mailbox(mail_server: Any) -> Any:
    mail_server.clear()
    return mail_server


@pytest.fixture(scope="session")
def push_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.fakes import fake_push

    with fake_push(tmp_path_factory.mktemp("push")) as fake:
        yield fake


@pytest.fixture(scope="session")
def vapid_keys() -> tuple[str, str]:
    from app.vapid import new_keys

    return new_keys()


@pytest.fixture
def push_service(push_server: Any, vapid_keys: tuple[str, str]) -> Any:
    push_server.reset(vapid_public_key=vapid_keys[1])
    return push_server


@pytest.fixture
def push_settings(
    make_settings: Callable[..., Settings], push_service: Any, vapid_keys: tuple[str, str]
) -> Callable[..., Settings]:
    """Settings that send web push to the fake push service: its loopback host is the one
    push host allowed, and its certificate is trusted as a private CA (https all the same)."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": "sqlite://",
            "vapid_private_key": vapid_keys[0],
            "vapid_public_key": vapid_keys[1],
            "vapid_subject": "mailto:ops@example.org",
            "push_hosts": "127.0.0.1",
            "push_ca_file": push_service.ca_file,
            "worker_rate": 0,
            "worker_poll_seconds": 0.05,
        }
        values.update(overrides)
        return make_settings(**values)

    return make


@pytest.fixture
def delivery_settings(
    make_settings: Callable[..., Settings], twilio: Any, mailbox: Any
) -> Callable[..., Settings]:
    """Settings that send SMS through the fake Twilio and email through the SMTP server."""
    from tests.fakes import ACCOUNT_SID, AUTH_TOKEN

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": "sqlite://",
            "public_url": "https://redflag.example.org",
            "sms_provider": "twilio",
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_from": "+3197010000001",
            "twilio_api_base": twilio.url,
            "email_provider": "smtp",
            "smtp_host": mailbox.host,
            "smtp_port": mailbox.port,
            "smtp_starttls": True,
            "smtp_ca_file": mailbox.ca_file,
            "smtp_from": "redflag <alerts@example.org>",
            "worker_rate": 0,
            "worker_poll_seconds": 0.05,
        }
        values.update(overrides)
        return make_settings(**values)

    return make


@pytest.fixture
def sending_server(
    make_live_server: Callable[..., LiveServer], delivery_settings: Callable[..., Settings]
) -> LiveServer:
    """A live server whose worker sends through the fake Twilio and the SMTP server."""
    wanted = delivery_settings()
    names = ["public_url", "sms_provider", "twilio_account_sid", "twilio_auth_token",
             "twilio_from", "twilio_api_base", "email_provider", "smtp_host", "smtp_port",
             "smtp_starttls", "smtp_ca_file", "smtp_from", "worker_rate"]  # fmt: skip
    return make_live_server(**{name: getattr(wanted, name) for name in names})


SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where a browser test saves its pictures: docs/screenshots/ with REDFLAG_SCREENSHOTS=1
    (`make screenshots`), a temporary folder otherwise."""
    return SCREENSHOTS if os.environ.get("REDFLAG_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture
def gated(postgres: PostgresDatabase) -> Iterator[tuple[str, TcpGate]]:
    """A fresh PostgreSQL database reached through a gate the test can shut."""
    url = make_url(postgres.fresh())
    gate = TcpGate(url.port or 5432, url.host or "127.0.0.1")
    yield url.set(host="127.0.0.1", port=gate.port).render_as_string(hide_password=False), gate
    gate.shut()
