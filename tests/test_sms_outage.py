"""An inbound SMS while the database is unreachable. Twilio does not retry an inbound
webhook, so a 503 would lose a JOIN or CHECK without the sender knowing: the answer is a
reply asking them to send it again, in the language of their keyword."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from app.i18n import Translator
from app.main import create_app
from app.settings import Settings
from tests.fakes import AUTH_TOKEN, TcpGate

PATH = "/webhooks/twilio/sms"


def inbound(client: TestClient, settings: Settings, body: str) -> tuple[int, str, str]:
    """(status, content type, the reply's text) for a signed inbound SMS."""
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": "+31612121212", "Body": body}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(settings.public_url + PATH, params)
    response = client.post(PATH, data=params, headers={"X-Twilio-Signature": signature})
    match = re.search(r"<Message>(.*)</Message>", response.text, re.S)
    return response.status_code, response.headers["content-type"], match.group(1) if match else ""


def test_an_sms_while_the_database_is_down_is_answered_try_again_in_its_language(
    gated: tuple[str, TcpGate], delivery_settings: Callable[..., Settings]
) -> None:
    url, gate = gated
    settings = delivery_settings(database_url=url)
    with TestClient(create_app(settings)) as client:
        status, _, reply = inbound(client, settings, "JOIN ASSEN")
        assert (status, reply) == (200, Translator("en")("sms.joined", regions="Assen"))

        gate.shut()
        for body, language in [
            ("JOIN ASSEN", "en"),
            ("aanmelden assen", "nl"),
            ("ALTA Assen", "es"),
            ("controleer 0612345678", "nl"),
            ("CHECK 0612345678", "en"),  # a word of every language: English
            ("STOP", "en"),
            ("hello", "en"),
        ]:
            status, content_type, reply = inbound(client, settings, body)
            assert status == 200, f"{body}: Twilio sends the reply only with a 200"
            assert content_type.startswith("application/xml"), body
            assert reply == Translator(language)("sms.unavailable"), body

        gate.open()
        status, _, reply = inbound(client, settings, "HELP")
        assert (status, reply) == (200, Translator("en")("sms.help")), "back by itself"
