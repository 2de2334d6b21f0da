"""The whole way round, on a real database with real commits, on SQLite and PostgreSQL.

A phone joins Assen by signed SMS; an email subscriber confirms for Drenthe; a report
from the form is published for Assen by a moderator; the worker delivers; both receive
the alert in their languages through the fake Twilio server and the SMTP server; the
phone's CHECK of the reported number finds it, and so does the email member's check on
the web; STOP removes the phone. Afterwards no contact, story, receipt code or
identifier is in the database's bytes, the logs, or the error pages, in plaintext.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from alerts.delivery.providers import build, close_all
from alerts.delivery.worker import make_worker
from alerts.models import Delivery
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import make_engine, make_session_factory
from app.logs import RedactingFormatter
from app.main import create_app
from app.settings import Settings
from moderation import accounts
from moderation.models import Role
from tests.conftest import PASSWORD, TestDatabase
from tests.fakes import AUTH_TOKEN
from tests.helpers import database_bytes

PHONE, EMAIL = "+31611112222", "marta@example.org"
CLIENT_NUMBER = "06 12345678"


def sms(client: TestClient, settings: Settings, body: str) -> str:
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "From": PHONE,
        "To": "+3197010000001",
        "Body": body,
    }
    url = settings.public_url + "/webhooks/twilio/sms"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    response = client.post(
        "/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200
    match = re.search(r"<Message>(.*)</Message>", response.text, re.S)
    return match.group(1) if match else ""


STORY = "Choked me and took the money back. My name is Nina, call 06 99887766."
SECRETS = [
    # the subscribers' contacts, in every form they could take
    PHONE, PHONE[1:], "0611112222", "611112222", EMAIL, EMAIL.upper(),
    # the story and its parts (the reporter's own name and number among them)
    STORY, "took the money back", "Nina", "06 99887766", "0699887766", "+31699887766",
    # the reported client's number, every way it is written
    CLIENT_NUMBER, "0612345678", "+31612345678", "31612345678", "612345678", "+31 6 12345678",
]  # fmt: skip


def test_from_report_to_warning_to_check_to_stop(
    database: TestDatabase,
    delivery_settings: Callable[..., Settings],
    twilio: Any,
    mailbox: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = database.fresh()
    settings = delivery_settings(database_url=url)
    crypto = Crypto.from_settings(settings)
    engine = make_engine(url)
    with Session(engine) as session:
        accounts.create(session, username="alice", password=PASSWORD, role=Role.moderator)
        session.commit()

    async def deliver() -> None:  # what the worker sends: codes and links too
        providers = build(settings)
        try:
            await make_worker(settings, make_session_factory(engine), providers).drain()
        finally:
            await close_all(providers)

    with TestClient(create_app(settings)) as client:
        # A phone joins Assen by SMS: no code needed, the sender proved the number.
        assert sms(client, settings, "aanmelden assen").startswith(
            "redflag: je krijgt waarschuwingen voor Assen"
        )

        # An email subscriber asks for Drenthe in Spanish and confirms through the link.
        client.post(
            "/api/v1/subscriptions",
            json={"channel": "email", "contact": EMAIL, "regions": ["NL-DR"], "language": "es"},
        )
        asyncio.run(deliver())
        body = mailbox.to(EMAIL)[-1].get_body(preferencelist=("plain",)).get_content()
        token = re.search(r"/es/subscribe/confirm\?t=([\w-]+)", body).group(1)  # type: ignore[union-attr]
        assert (
            "Recibirás avisos para Drenthe"
            in client.post("/es/subscribe/confirm", data={"token": token}).text
        )

        # A report arrives through the form...
        receipt = client.post(
            "/en/report",
            data={
                "place": "Assen",
                "incident_date": date.today().isoformat(),
                "part_of_day": "night",
                "categories": ["physical_violence", "robbery"],
                "what_happened": STORY,
                "phones": CLIENT_NUMBER,
            },
        )
        assert receipt.status_code == 200
        receipt_code = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", receipt.text).group(0)  # type: ignore[union-attr]

        # ... and a moderator publishes it for Assen.
        login = client.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORD})
        moderator = {"Authorization": f"Bearer {login.json()['access_token']}"}
        claimed = client.post("/api/v1/moderation/queue/next", headers=moderator).json()
        review = client.get(
            f"/api/v1/moderation/reports/{claimed['report_id']}", headers=moderator
        ).json()
        assert "Nina" not in review["suggested_text"]
        decision = client.post(
            f"/api/v1/moderation/reports/{claimed['report_id']}/publish",
            headers=moderator,
            json={
                "version": review["version"],
                "text": "Choked a worker and took the money back.",
                "severity": "high",
                "regions": ["GM0106"],
                "categories": ["physical_violence", "robbery"],
                "identifiers": [
                    {"kind": i["kind"], "value": i["value"]} for i in review["identifiers"]
                ],
                "expires_in_days": 30,
            },
        ).json()
        ref = decision["alert_ref"]
        assert decision["alert_status"] == "published"

        # The worker sends: the phone in Dutch, the email in Spanish.
        asyncio.run(deliver())
        [warning] = [m for m in twilio.sent_to(PHONE) if ref in m["body"]]
        assert warning["body"].startswith("redflag GEVAAR: geweld, beroving. Assen")
        assert "Choked a worker and took the money back." in warning["body"]
        assert "Tel +31 6 1234**78" in warning["body"] and "Nina" not in warning["body"]
        [mail] = [m for m in mailbox.to(EMAIL) if ref in m["Subject"]]
        assert mail["Subject"] == f"redflag PELIGRO: Assen ({ref})"
        assert "Choked a worker" in mail.get_body(preferencelist=("plain",)).get_content()

        # The phone checks the client's number by SMS and finds the alert.
        found = sms(client, settings, f"CHECK {CLIENT_NUMBER}")
        assert found.startswith(f"redflag: +31 6 1234**78: {ref} redflag GEVAAR")

        # The email member signs in with a code and checks the number on the web.
        member = {"channel": "email", "contact": EMAIL}
        assert client.post("/api/v1/members/login", json=member).status_code == 202
        asyncio.run(deliver())
        code = re.search(r"\b(\d{6})\b", mailbox.to(EMAIL)[-1].get_body(("plain",)).get_content())
        token = client.post("/api/v1/members/verify", json={**member, "code": code.group(1)})  # type: ignore[union-attr]
        checked = client.post(
            "/api/v1/check",
            json={"number": "+31 6 12345678"},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        ).json()
        assert [a["ref"] for a in checked["alerts"]] == [ref]

        # STOP removes the phone at once.
        assert sms(client, settings, "STOP").startswith("redflag: je krijgt geen berichten meer")

        # Errors about what was sent never repeat it.
        bad_email = {
            "channel": "email",
            "contact": EMAIL + "@",
            "regions": ["XX"],
            "language": "es",
        }
        other_last = "1" if receipt_code.endswith("0") else "0"  # never the code itself
        wrong_code = {"X-Receipt-Code": receipt_code[:-1] + other_last}
        pages = [
            client.post(
                "/api/v1/reports",
                json={"what_happened": STORY, "perpetrator": {"phones": ["06 99887766x"]}},
            ),
            client.post("/api/v1/subscriptions", json=bad_email),
            client.post("/api/v1/check", json={"number": CLIENT_NUMBER}),
            client.get("/api/v1/reports/status", headers=wrong_code),
        ]
        # The form is the one place that shows back what was typed, to whoever typed it,
        # so that nothing has to be typed twice; never stored by the browser.
        again = client.post("/en/report", data={"what_happened": STORY, "phones": "06 9988x"})
        assert again.status_code == 422 and again.headers["cache-control"] == "no-store"
        assert all(400 <= page.status_code < 500 for page in pages)

    with Session(engine) as session:
        assert subscriptions.find(session, index=crypto.index, channel="sms", contact=PHONE) is None
        assert (
            subscriptions.find(session, index=crypto.index, channel="email", contact=EMAIL)
            is not None
        )
        statuses = {d.channel: d.status for d in session.exec(select(Delivery))}
        assert statuses == {"sms": "sent", "email": "sent"}
    engine.dispose()

    stored = database_bytes(url)
    # The app's own log lines, raw; and every line as the operator's set-up writes it
    # (the test's own mail server, which logs what it receives, aside).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("redflag"))
    written = RedactingFormatter("%(name)s: %(message)s")
    logged = "\n".join(written.format(r) for r in caplog.records if r.name != "mail.log")
    assert "POST /webhooks/twilio/sms status=200" in ours, "the logs were captured"
    for secret in [*SECRETS, receipt_code, receipt_code.replace("-", "")]:
        assert secret.encode() not in stored, f"in the database: {secret!r}"
        assert secret not in ours and secret not in logged, f"in the logs: {secret!r}"
        for page in pages:
            assert secret not in page.text, f"in an error page: {secret!r}"
