"""Helpers the tests import: free ports, a real `redflag serve` process, report bodies."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[str]

    def stop(self) -> str:
        """Stop the server; everything it printed."""
        self.process.terminate()
        output, _ = self.process.communicate(timeout=20)
        return output


def start_server_process(env: dict[str, str]) -> ServerProcess:
    """`redflag serve` as a real subprocess, exactly as an operator starts it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.communicate()[0]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return ServerProcess(url, process)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not answer /healthz in time")


def report_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "region": "GM0106",
        "incident_date": date.today().isoformat(),
        "part_of_day": "night",
        "categories": ["physical_violence"],
        "what_happened": "He grabbed my arm and would not let me leave.",
        "perpetrator": {"phones": ["+61 491 570 156"], "description": "tall, grey coat"},
        "police_consent": "none",
        "language": "en",
    }
    body.update(overrides)
    return body


def all_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) for every route of the app, through included routers."""
    from fastapi.routing import iter_route_contexts

    found = []
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            if method != "HEAD" and route.path:
                found.append((method, route.path))
    return found


LANGUAGES = ("nl", "en", "es")


def subscriber_number(i: int) -> str:
    return f"+316{20000000 + i}"


def add_sms_subscribers(
    session: Any,
    crypto: Any,
    n: int,
    region: str = "GM0106",
    *,
    channel: str = "sms",
    contacts: list[tuple[str, str]] | None = None,
) -> None:
    """n verified SMS (or email, or push) subscribers in one region, a third in each
    language, in two statements (the service's own sign-up is one at a time, with codes);
    commits. `contacts`: each one's contact and what is indexed of it (for push, the
    subscription's JSON and its endpoint); numbers or addresses made up otherwise."""
    if n == 0:
        return
    from sqlalchemy import insert

    from alerts.models import PURPOSE_CONTACT, Subscriber, SubscriberRegion
    from alerts.subscriptions import service as subscriptions
    from app.db import utcnow

    now = utcnow()
    rows = []
    for i in range(n):
        made_up = subscriber_number(i) if channel == "sms" else f"member{i}@example.org"
        contact, indexed = contacts[i] if contacts else (made_up, made_up)
        rows.append(
            {
                "channel": channel,
                "contact_enc": crypto.cipher.encrypt(contact, purpose=PURPOSE_CONTACT),
                "contact_index": subscriptions.contact_index(crypto.index, channel, indexed),
                "language": LANGUAGES[i % len(LANGUAGES)],
                "min_severity_rank": 0,
                "created_at": now,
                "confirmed_at": now,
                "membership": "verified",
            }
        )
    ids = session.execute(insert(Subscriber).returning(Subscriber.id), rows).scalars().all()
    session.execute(
        insert(SubscriberRegion), [{"subscriber_id": i, "region_code": region} for i in ids]
    )
    session.commit()


def database_bytes(url: str) -> bytes:
    """Every byte the database holds: the SQLite file and its journals, or every cell of
    every PostgreSQL table, for searching for what must not be there in plaintext."""
    from sqlalchemy import inspect, text
    from sqlalchemy.engine import make_url

    from app.db import make_engine

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(str(parsed.database))
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    engine = make_engine(url)
    chunks = []
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                    for cell in row:
                        if isinstance(cell, bytes | memoryview):
                            chunks.append(bytes(cell))
                        else:
                            chunks.append(str(cell).encode())
    finally:
        engine.dispose()
    return b"\x00".join(chunks)


def publish_alert(
    session: Any,
    crypto: Any,
    regions: list[str] | None = None,
    *,
    severity: str = "high",
    text: str = "Hit a worker.",
    identifiers: list[tuple[str, str]] | None = None,
    expires_at: Any = None,
) -> Any:
    """A published alert (no second moderator needed), with its outbox rows; commits."""
    from datetime import timedelta

    from alerts import service as alerts_service
    from alerts.models import Severity
    from app.db import utcnow

    alert = alerts_service.create(
        session,
        draft=alerts_service.AlertDraft(
            text=text,
            severity=Severity(severity),
            region_codes=regions or ["GM0106"],
            categories=["physical_violence"],
            identifiers=[("phone", "+31612345678")] if identifiers is None else identifiers,
            incident_date=date(2026, 11, 20),
            part_of_day="night",
            expires_at=expires_at or utcnow() + timedelta(days=30),
        ),
        crypto=crypto,
        needs_approval=False,
    )
    session.commit()
    return alert


def deliver(settings: Any, session_factory: Any) -> int:
    """Run the delivery worker until nothing is due (codes and links go out this way too,
    never inside a request); how many messages it claimed."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from alerts.delivery.providers import build, close_all
    from alerts.delivery.worker import make_worker

    async def drain() -> int:
        providers = build(settings)
        try:
            return await make_worker(settings, session_factory, providers).drain()
        finally:
            await close_all(providers)

    # In a thread of its own: the caller may be running an event loop (Playwright's).
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(drain())).result()


def last_code(messages: list[dict[str, Any]]) -> str:
    """The code in the last message with one (an alert may have gone out at the same time)."""
    import re

    codes = [re.findall(r"\b(\d{6})\b", m["body"]) for m in messages]
    codes = [found for found in codes if found]
    assert codes
    return str(codes[-1][0])


def code_sent_by(server: Any, twilio: Any, number: str) -> str:
    """The last code a live server sent to `number`: its delivery worker runs first, since
    codes go through the outbox, never inside the request that asks for them."""
    from app.db import make_engine, make_session_factory

    engine = make_engine(server.database_url)
    try:
        deliver(server.settings, make_session_factory(engine))
    finally:
        engine.dispose()
    return last_code(twilio.sent_to(number))


def sms_to_server(server: Any, body: str, *, sender: str, sid: str) -> httpx.Response:
    """An SMS as Twilio hands it to a live server: a signed webhook; the server's reply."""
    from twilio.request_validator import RequestValidator

    from tests.fakes import AUTH_TOKEN

    params = {"MessageSid": sid, "From": sender, "To": "+3197010000001", "Body": body}
    path = "/webhooks/twilio/sms"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        server.settings.public_url + path, params
    )
    return httpx.post(f"{server.url}{path}", data=params, headers={"X-Twilio-Signature": signature})


def staff_headers(server: Any, *, username: str, role: Any) -> dict[str, str]:
    """Bearer headers of a new staff account in a live server's own database."""
    from sqlmodel import Session

    from app.db import make_engine
    from moderation import accounts, security
    from tests.conftest import PASSWORD

    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            account = accounts.create(session, username=username, password=PASSWORD, role=role)
            session.commit()
            token, _ = security.issue_token(
                moderator_id=account.id, role=account.role, settings=server.settings
            )
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def log_in_page(page: Any, server: Any, username: str) -> None:
    """Log in at /mod/login in a browser (every test account has conftest's PASSWORD)."""
    from tests.conftest import PASSWORD

    page.goto(f"{server.url}/mod/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
