"""Nothing that identifies anyone reaches the logs or the database, in plaintext.

A real `redflag serve` process (the operator's logging set-up, at DEBUG) takes reports
through the API and the form from a client at 127.0.0.2 with a recognisable user
agent. Afterwards everything it printed, and every byte of the database (the SQLite
file and its write-ahead log, or every cell of every PostgreSQL table), is searched
for the story, the reported phone number in every way of writing it, the other
identifiers, the receipt codes, the client's address and its user agent.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from sqlmodel import Session, select

from app.crypto import Crypto
from app.db import make_engine
from app.reports import service
from app.reports.models import ReportStatus
from app.settings import Settings
from tests.conftest import TestDatabase
from tests.helpers import database_bytes, report_body, start_server_process

NARRATIVE = "He strangled me in the stairwell by the Zwanenbrug, marker 7c1f"
DESCRIPTION = "Scar over the left eye, marker 55aa"
REPLY = "It was the hotel by the station, marker 9d2e"
ADDED = "He came back in a green van, marker 4b07"
EMAIL = "privacy.marker@example.com"
PLATE_TYPED, PLATE = "QX-771-Z", "QX771Z"
HANDLE = "privacy_marker_handle"
PHONE_FORMATS = [
    "06 12345678", "0612345678", "06-12345678", "+31612345678", "31612345678",
    "612345678", "+31 6 12345678", "+31 6-1234 5678", "0031612345678",
]  # fmt: skip
CLIENT_ADDRESS = "127.0.0.2"
USER_AGENT = "PrivacyProbe/7.7 (marker-ua-3141)"


def test_a_report_leaves_no_identifying_trace(
    database: TestDatabase, test_keys: dict[str, str], tmp_path: Path
) -> None:
    url = database.fresh()
    env = {
        "REDFLAG_DATABASE_URL": url,
        "REDFLAG_DATA_KEY": test_keys["data_key"],
        "REDFLAG_INDEX_KEY": test_keys["index_key"],
        "REDFLAG_JWT_SECRET": test_keys["jwt_secret"],
        "REDFLAG_SECRETS_FILE": str(tmp_path / "unused.env"),
        "REDFLAG_LOG_LEVEL": "DEBUG",
    }
    server = start_server_process(env)
    codes = []
    try:
        transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
        with httpx.Client(
            base_url=server.url, transport=transport, headers={"user-agent": USER_AGENT}
        ) as client:
            body = report_body(
                what_happened=NARRATIVE,
                perpetrator={
                    "phones": ["06 12345678", "+31 6-1234 5678"],
                    "emails": [EMAIL],
                    "plates": [PLATE_TYPED],
                    "handles": [f"@{HANDLE}"],
                    "description": DESCRIPTION,
                },
            )
            created = client.post("/api/v1/reports", json=body)
            assert created.status_code == 201
            codes.append(created.json()["receipt_code"])

            form = client.post(
                "/en/report",
                data={
                    "place": "Assen",
                    "incident_date": date.today().isoformat(),
                    "part_of_day": "night",
                    "categories": ["threats"],
                    "what_happened": NARRATIVE,
                    "phones": "0031612345678",
                    "emails": EMAIL,
                    "plates": PLATE_TYPED,
                    "handles": f"instagram.com/{HANDLE}",
                    "description": DESCRIPTION,
                },
            )
            assert form.status_code == 200
            match = re.search(r'id="receipt-code">([0-9A-Z-]+)<', form.text)
            assert match
            codes.append(match.group(1))

            _ask_a_question(url, test_keys, codes[0])
            reply = client.post(
                "/api/v1/reports/reply", json={"receipt_code": codes[0], "message": REPLY}
            )
            assert reply.status_code == 200
            assert client.post("/en/status", data={"receipt_code": codes[1]}).status_code == 200
            added = {"receipt_code": codes[1], "addition": ADDED}
            assert client.post("/en/status/add", data=added).status_code == 200
            added_api = {"receipt_code": codes[0], "message": ADDED}
            assert client.post("/api/v1/reports/add", json=added_api).status_code == 200

            bad = client.post(
                "/api/v1/reports", json=report_body(perpetrator={"phones": ["06 1234 567"]})
            )
            assert bad.status_code == 422
            assert "1234 567" not in bad.text
            assert client.get("/api/v1/reports/+31612345678").status_code == 404
    finally:
        logs = server.stop()

    assert "POST /api/v1/reports status=201" in logs, "the server's output was captured"
    secrets = [NARRATIVE, "Zwanenbrug", DESCRIPTION, REPLY, ADDED, EMAIL, PLATE, PLATE_TYPED,
               HANDLE, *PHONE_FORMATS, *codes, *(c.replace("-", "") for c in codes)]  # fmt: skip
    for secret in [*secrets, CLIENT_ADDRESS, USER_AGENT, "marker-ua"]:
        assert secret not in logs, f"{secret!r} is in the server's output"

    stored = database_bytes(url)
    assert len(stored) > 10_000, "the search covers a real database"
    for secret in [*secrets, CLIENT_ADDRESS, "marker-ua"]:
        assert secret.encode() not in stored, f"{secret!r} is in the database in plaintext"
        assert secret.encode("utf-16-le") not in stored


def _ask_a_question(url: str, keys: dict[str, str], code: str) -> None:
    crypto = Crypto.from_settings(Settings(**keys))
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            report = service.find_by_receipt(session, crypto=crypto, receipt_code=code)
            service.transition(report, ReportStatus.in_review)
            service.ask_reporter(session, report=report, question="Where?", cipher=crypto.cipher)
            session.commit()
    finally:
        engine.dispose()


class _RecordingTracer(trace.NoOpTracer):
    def __init__(self, spans: list[tuple[str, dict[str, Any]]]) -> None:
        self.spans = spans

    def start_span(self, name: str, *args: Any, **kwargs: Any) -> trace.Span:
        self.spans.append((name, dict(kwargs.get("attributes") or {})))
        return trace.INVALID_SPAN


class _RecordingProvider(trace.TracerProvider):
    """What an operator's OpenTelemetry set-up would be: a provider that keeps spans."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, dict[str, Any]]] = []

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _RecordingTracer(self.spans)


def test_opentelemetry_set_up_in_the_process_records_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI would trace every request (path, query string, exception messages) as soon
    as a provider is configured or FASTAPI_OTEL_AUTO_CONFIGURE=true is set."""
    provider = _RecordingProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    monkeypatch.setenv("FASTAPI_OTEL_AUTO_CONFIGURE", "true")
    assert client.post("/api/v1/reports", json=report_body()).status_code == 201
    assert client.get("/api/v1/regions", params={"q": "assen"}).status_code == 200
    assert client.post("/api/v1/reports", json={"what_happened": "x"}).status_code == 422
    assert provider.spans == []


CHECKED = ["+31612340071", "+31612340072", "+31612340073", "+31612340074"]


def test_checked_numbers_leave_no_trace(
    database: TestDatabase, test_keys: dict[str, str], tmp_path: Path
) -> None:
    """A member checks numbers past the daily limit (API and page, numbers written every
    way): the database holds neither the numbers nor their blind indexes, only "this
    member went over on this day", and the server's output holds no number."""
    from alerts.check import members
    from alerts.check.models import CheckWatch
    from tests.helpers import add_sms_subscribers

    url = database.fresh()
    settings = Settings(**test_keys)
    crypto = Crypto.from_settings(settings)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            add_sms_subscribers(session, crypto, 1)
    finally:
        engine.dispose()
    token, _ = members.issue(1, settings)
    env = {
        "REDFLAG_DATABASE_URL": url,
        "REDFLAG_DATA_KEY": test_keys["data_key"],
        "REDFLAG_INDEX_KEY": test_keys["index_key"],
        "REDFLAG_JWT_SECRET": test_keys["jwt_secret"],
        "REDFLAG_SECRETS_FILE": str(tmp_path / "unused.env"),
        "REDFLAG_LOG_LEVEL": "DEBUG",
        "REDFLAG_CHECK_DAILY_NUMBERS": "2",
    }
    server = start_server_process(env)
    try:
        with httpx.Client(base_url=server.url) as client:
            bearer = {"Authorization": f"Bearer {token}"}
            statuses = [
                client.post("/api/v1/check", json={"number": number}, headers=bearer).status_code
                for number in ["06 1234 0071", "+31 6 12340072", "0612340073"]
            ]
            page = client.post("/en/check", data={"token": token, "number": "06-12340074"})
            again = client.post("/en/check", data={"token": token, "number": "0031612340071"})
    finally:
        logs = server.stop()
    assert statuses == [200, 200, 429]
    assert (page.status_code, again.status_code) == (429, 200)
    assert "POST /api/v1/check status=429" in logs, "the server's output was captured"

    digests = [crypto.index.digest("phone", number) for number in CHECKED]
    spellings = [
        spelling
        for number in CHECKED
        for spelling in (number, number[1:], "0" + number[3:], number[3:], "06-" + number[4:])
    ] + ["06 1234 0071", "+31 6 12340072"]
    for spelling in spellings:
        assert spelling not in logs, f"{spelling!r} is in the server's output"
    stored = database_bytes(url)
    for spelling in spellings:
        assert spelling.encode() not in stored, f"{spelling!r} is in the database"
    for digest in digests:
        assert digest not in stored and digest.hex().encode() not in stored, "a blind index"

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            watched = session.exec(select(CheckWatch)).all()
    finally:
        engine.dispose()
    assert [(w.subscriber_id, w.numbers) for w in watched] == [(1, 4)], "two refused numbers"
