"""The organisations' digest: the live alerts for their regions, printable, in a language."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from alerts import service as alerts_service
from alerts.models import Delivery
from app.crypto import Crypto
from app.db import utcnow
from tests.conftest import Outreach
from tests.helpers import publish_alert
from tests.test_moderation_pages import csrf
from tests.test_org_pages import log_in

CLIENT = "+31612345678"


def digest_of(client: TestClient, lang: str = "") -> str:
    page = client.get("/org/digest" + (f"?lang={lang}" if lang else ""))
    assert page.status_code == 200, page.text
    found = re.search(r'<article class="digest" id="digest">(.*)</article>', page.text, re.S)
    assert found
    return found[1]


def test_the_digest_holds_the_live_alerts_of_the_organisations_regions_only(
    browser_like: Callable[[], TestClient], outreach: Outreach, session: Session, crypto: Crypto
) -> None:
    in_town = publish_alert(session, crypto, ["GM0106"], text="Grey car, about 40.")
    in_province = publish_alert(session, crypto, ["NL-DR"], text="Bald, asks for no condom.")
    elsewhere = publish_alert(session, crypto, ["GM0363"], text="Amsterdam only.")
    expired = publish_alert(
        session, crypto, ["GM0106"], text="Old news.", expires_at=utcnow() - timedelta(days=1)
    )
    retracted = publish_alert(session, crypto, ["GM0106"], text="Taken back.")
    alerts_service.retract(session, alert=retracted, reason="mistake", cipher=crypto.cipher)
    alerts_service.add_update(
        session, alert=in_town, text="Seen again on Tuesday.", cipher=crypto.cipher
    )
    session.commit()

    client = browser_like()
    log_in(client, "olga")
    sheet = digest_of(client)
    for shown in [in_town, in_province]:
        assert shown.ref in sheet
    for hidden in [elsewhere, expired, retracted]:
        assert hidden.ref not in sheet
    assert "Grey car, about 40." in sheet and "Seen again on Tuesday." in sheet
    assert "Warnings for Assen" in sheet


def test_identifiers_are_masked_by_the_deployments_policy(
    browser_like: Callable[[], TestClient],
    outreach: Outreach,
    session: Session,
    crypto: Crypto,
) -> None:
    publish_alert(session, crypto, ["GM0106"], identifiers=[("phone", CLIENT)])
    client = browser_like()
    log_in(client, "olga")
    sheet = digest_of(client)
    assert "+31 6 1234**78" in sheet, "partial, the default: as in an SMS"
    digits = re.sub(r"\D", "", sheet)
    assert "612345678" not in digits


def test_the_sheet_is_in_the_language_asked_for(
    browser_like: Callable[[], TestClient], outreach: Outreach, session: Session, crypto: Crypto
) -> None:
    publish_alert(session, crypto, ["GM0106"])
    client = browser_like()
    log_in(client, "olga")
    dutch = client.get("/org/digest?lang=nl")
    assert '<html lang="nl">' in dutch.text
    assert "Waarschuwingen voor Assen" in dutch.text and "Waar" in dutch.text
    assert "Avisos para Assen" in digest_of(client, "es")
    assert "Warnings for Assen" in digest_of(client, "xx"), "an unknown language: English"


def test_without_live_alerts_the_sheet_says_so(
    browser_like: Callable[[], TestClient], outreach: Outreach
) -> None:
    client = browser_like()
    log_in(client, "olga")
    assert "No live warnings for these places right now" in digest_of(client)


def test_staff_and_strangers_get_no_digest(
    browser_like: Callable[[], TestClient], outreach: Outreach, team: Any
) -> None:
    stranger = browser_like().get("/org/digest")
    assert stranger.status_code == 303 and stranger.headers["location"] == "/mod/login"
    staff = browser_like()
    log_in(staff, "alice")
    assert staff.get("/org/digest").headers["location"] == "/mod"


def test_programs_read_the_same_digest_as_json(
    client: TestClient,
    outreach: Outreach,
    session: Session,
    crypto: Crypto,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    alert = publish_alert(session, crypto, ["GM0106"], identifiers=[("phone", CLIENT)])
    publish_alert(session, crypto, ["GM0363"])
    response = client.get("/api/v1/org/digest", headers=auth(outreach.olga))
    assert response.status_code == 200
    body = response.json()
    assert body["regions"] == ["Assen"]
    assert [a["ref"] for a in body["alerts"]] == [alert.ref]
    assert body["alerts"][0]["identifiers"] == [["phone", "+31 6 1234**78"]]
    assert client.get("/api/v1/org/digest").status_code == 401


def test_the_home_page_sends_a_confirmation_link_for_alerts_by_email(
    browser_like: Callable[[], TestClient], outreach: Outreach, session: Session
) -> None:

    client = browser_like()
    log_in(client, "olga")
    token = csrf(client, "/org")
    bad = client.post("/org/alert-email", data={"csrf_token": token, "email": "not-an-address"})
    assert bad.status_code == 422 and "email" in bad.text
    assert session.exec(select(Delivery)).first() is None
    sent = client.post(
        "/org/alert-email",
        data={"csrf_token": token, "email": "alerts@outreach.example.org", "language": "nl"},
    )
    assert sent.status_code == 200 and "a confirmation link is on its way" in sent.text
    assert len(session.exec(select(Delivery).where(Delivery.channel == "email")).all()) == 1
