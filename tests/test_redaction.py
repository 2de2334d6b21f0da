"""The redaction help: what it flags, the suggested alert, and publishing only after a check."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.reports.models import Report
from moderation import redaction
from moderation.models import AuditEntry
from tests.conftest import Team
from tests.helpers import report_body
from tests.test_moderation_api import M, claim, publish_body, report_id
from tests.test_moderation_pages import csrf, log_in

Auth = Callable[[Any], dict[str, str]]
NO_REPORT: dict[str, Any] = {"default_region": "NL", "reported": set()}


def flagged(text: str, **kw: Any) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in redaction.flag(text, **{**NO_REPORT, **kw})]


def test_the_report_from_the_issue_flags_the_street_the_name_and_the_number() -> None:
    text = "Hij kwam naar mijn kamer aan de Stationsstraat. Ik ben Maria, bel me op 06 9876 5432"
    assert flagged(text) == [
        ("address", "Stationsstraat"),
        ("name", "Maria"),
        ("phone", "06 9876 5432"),
    ]


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("My name is Crystal, call me.", [("name", "Crystal")]),
        ("I'm Anna and I work alone.", [("name", "Anna")]),
        ("Me llamo Ana María y trabajo sola.", [("name", "Ana María")]),
        ("soy lucía, de Madrid", [("name", "lucía")]),  # a listed name in small letters
        ("Mijn naam is Fleur.", [("name", "Fleur")]),
        ("Mijn collega Sanne zag het ook.", [("name", "Sanne")]),  # a listed name anywhere
        ("Sanne zag het ook.", [("name", "Sanne")]),
        ("He came to Kerkstraat 12a twice.", [("address", "Kerkstraat 12a")]),
        ("Ze woont in de Vinkenbuurt.", [("address", "Vinkenbuurt")]),
        ("Het adres is 9711 AB.", [("postcode", "9711 AB")]),
        ("Het was in hotel Bastion.", [("workplace", "hotel Bastion")]),
        ("Ik werk achter raam 14.", [("workplace", "raam 14")]),
        ("Dat was in club Maxime gisteren.", [("workplace", "club Maxime")]),
        ("Find me on @ana.escort.nl please.", [("handle", "@ana.escort.nl")]),
        ("My ad: www.kinky.nl/escort/sofia.", [("url", "www.kinky.nl/escort/sofia")]),
        ("Write to lotte@example.nl.", [("email", "lotte@example.nl")]),
    ],
)
def test_it_flags_the_reporters_own_details(text: str, kinds: list[tuple[str, str]]) -> None:
    assert flagged(text) == kinds


@pytest.mark.parametrize(
    "text",
    [
        "I'm scared he will come back.",
        "Soy trabajadora sexual y tengo miedo.",
        "Ik ben bang dat hij terugkomt.",
        "Dan kwam hij terug. Will you warn the others?",  # names that start a sentence as words
        "He drives a Mercedes and came in May.",
        "He was seen in Assen and Den Haag.",  # places, not people
        "Tall, bald, grey van, tattoo on his neck.",
    ],
)
def test_it_leaves_words_that_are_not_details_alone(text: str) -> None:
    assert flagged(text) == []


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Mă numesc Ioana și lucrez singură.", [("name", "Ioana")]),
        ("mă cheamă Ana Maria, camera 12", [("name", "Ana Maria"), ("workplace", "camera 12")]),
        (
            "Казвам се Мария, стая 5 в хотел Венера.",
            [("name", "Мария"), ("workplace", "стая 5"), ("workplace", "хотел Венера")],
        ),
        ("с уважение, Елена", [("name", "Елена")]),
        ("A nevem Kata, szoba 3.", [("name", "Kata"), ("workplace", "szoba 3")]),
        (
            "Nazywam się Kasia, pokój 12, hotel Polonia.",
            [("name", "Kasia"), ("workplace", "pokój 12"), ("workplace", "hotel Polonia")],
        ),
        ("Meu nome é Juliana, quarto 7.", [("name", "Juliana"), ("workplace", "quarto 7")]),
        # Typed in a hurry, in small letters: a listed first name still counts.
        ("mă numesc ioana", [("name", "ioana")]),
        ("nazywam się ewa, pokój 3", [("name", "ewa"), ("workplace", "pokój 3")]),
        ("a nevem kata", [("name", "kata")]),
        # Thai: no capitals and no spaces between words; the polite ending is not the name.
        (
            "ฉันชื่อมาลีค่ะ อยู่ห้อง 12 โรงแรม Hilton",
            [("name", "มาลี"), ("workplace", "ห้อง 12"), ("workplace", "โรงแรม Hilton")],
        ),
    ],
)
def test_it_flags_details_in_the_other_languages_from_their_catalogues(
    text: str, kinds: list[tuple[str, str]]
) -> None:
    assert flagged(text) == kinds


@pytest.mark.parametrize(
    "text",
    [
        "Sunt obosită și speriată.",  # ro: I am tired and scared
        "Аз съм уплашена.",  # bg: I am scared
        "Jestem sama w domu.",  # pl: I am alone at home ("sama" is also a name)
        "Én vagyok az, aki szólt.",  # hu: I am the one who said so
        "Eu sou trabalhadora e tenho medo.",  # pt
        "ฉันกลัวมาก เขาตีฉัน",  # th: I am very scared, he hit me
    ],
)
def test_it_leaves_the_other_languages_words_alone(text: str) -> None:
    assert flagged(text) == []


def test_the_clients_own_handle_and_ad_link_are_marked_as_his() -> None:
    text = "He wrote from @bigdaddy_77, his ad is at kinky.nl/profiel/bigdaddy_77. Mine: @ana.nl"
    flags = redaction.flag(text, default_region="NL", reported={("handle", "bigdaddy_77")})
    assert [(f.text, f.reported_identifier) for f in flags] == [
        ("@bigdaddy_77", True),
        ("kinky.nl/profiel/bigdaddy_77", True),
        ("@ana.nl", False),
    ]


def test_the_first_names_come_from_a_shipped_list_with_its_source() -> None:
    names = redaction.first_names()
    assert len(names) > 5000
    assert {"Maria", "Sanne", "Lucía", "Ioana", "Fatima", "Jessica"} <= names
    data = resources.files("moderation") / "data"
    header = (data / "first_names.txt").read_text("utf-8")[:1200]
    assert "nam_dict.txt" in header and "GNU Free Documentation License" in header
    assert "GNU Free Documentation License" in (data / "GFDL-1.2.txt").read_text("utf-8")


# ---- the suggested alert and publishing ---------------------------------------------------------

STORY = "Hij kwam naar mijn kamer aan de Stationsstraat. Ik ben Maria, bel me op 06 9876 5432"


def claimed(
    client: TestClient, session: Session, auth: Auth, who: Any, **body: Any
) -> tuple[int, int]:
    """The story above, reported and claimed by `who`: (its id, its version)."""
    report = report_body(
        what_happened=STORY,
        perpetrator={"phones": ["0612345678"], "description": "Lang, kaal, grijze Opel."},
        language="nl",
        **body,
    )
    assert client.post("/api/v1/reports", json=report).status_code == 201
    rid = report_id(session)
    return rid, int(claim(client, auth(who), rid)["version"])


def test_the_suggested_alert_leaves_out_every_flagged_part_and_adds_the_description(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    rid, _ = claimed(client, session, auth, team.alice)
    review = client.get(f"{M}/reports/{rid}", headers=auth(team.alice)).json()
    suggested = review["suggested_text"]
    for part in ["Stationsstraat", "Maria", "9876"]:
        assert part not in suggested
    assert suggested == (
        "Hij kwam naar mijn kamer aan de [...]. Ik ben [...], bel me op [...]\n"
        "Lang, kaal, grijze Opel."
    )


def test_publishing_a_flagged_part_needs_checked_flags(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    rid, version = claimed(client, session, auth, team.alice)
    text = "Hij sloeg een collega in hotel Bastion. Bel 0612345678 niet op."
    url = f"{M}/reports/{rid}/publish"
    refused = client.post(url, headers=auth(team.alice), json=publish_body(version, text=text))
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["field"] == "checked_flags"
    assert "1 part" in error["msg"] and "workplace" in error["msg"]
    assert "Bastion" not in refused.text, "the error names the kind, never the text"
    session.expire_all()
    assert session.get(Report, rid).status == "in_review", "nothing was written"  # type: ignore[union-attr]

    body = publish_body(version, text=text, checked_flags=True)
    published = client.post(url, headers=auth(team.alice), json=body)
    assert published.status_code == 200, published.text
    ref = published.json()["alert_ref"]
    entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
    assert [(e.action, e.target_id) for e in entries if e.action == "alert.flags_checked"] == [
        ("alert.flags_checked", ref)
    ]
    assert "Bastion" not in str([(e.action, e.target_type, e.target_id) for e in entries])


def test_the_clients_own_number_in_the_text_needs_no_check(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    rid, version = claimed(client, session, auth, team.alice)
    text = "Sloeg een vrouw. Zijn nummer: 06 1234 5678, en hij belt ook vanaf 06 5555 1234."
    body = publish_body(version, text=text, identifiers=[{"kind": "phone", "value": "0655551234"}])
    published = client.post(f"{M}/reports/{rid}/publish", headers=auth(team.alice), json=body)
    assert published.status_code == 200, published.text
    actions = session.exec(select(AuditEntry.action)).all()
    assert "alert.flags_checked" not in actions


def test_the_composer_asks_for_the_check_without_javascript(
    browser_like: Callable[[], TestClient], team: Team, session: Session
) -> None:
    alice = browser_like()
    assert alice.post("/api/v1/reports", json=report_body(what_happened=STORY)).status_code == 201
    log_in(alice, "alice")
    token = csrf(alice)
    review_url = alice.post("/mod/queue/next", data={"csrf_token": token}).headers["location"]
    page = alice.get(review_url).text
    assert "I checked: this is not the reporter" not in page, "the suggested text has no flags"
    version = re.search(r'name="version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    form = {
        "csrf_token": token, "version": version, "decision": "publish",
        "text": "Hij sloeg Maria in de Stationsstraat.", "severity": "high",
        "regions": ["GM0106"], "categories": ["physical_violence"], "identifiers": [],
        "new_kind": "phone", "new_value": "", "extra_regions": "", "expires_in_days": "30",
    }  # fmt: skip
    decide = review_url + "/decide"
    previewed = alice.post(decide, data={**form, "decision": "preview"}).text
    assert 'id="still-flagged"' in previewed and 'name="checked_flags"' in previewed
    assert '<mark class="flag" data-kind="name">Maria</mark>' in previewed

    refused = alice.post(decide, data=form)
    assert refused.status_code == 422
    errors = re.search(r'id="errors">(.*?)</div></div>', refused.text, re.S)
    assert errors and "I checked: this is not the reporter" in errors.group(1)
    assert "2 parts" in errors.group(1) and "Maria" not in errors.group(1)
    assert "Hij sloeg Maria in de Stationsstraat." in refused.text, "what was typed is kept"

    asked = alice.post(decide, data={**form, "checked_flags": "true"})
    assert asked.status_code == 200 and 'id="confirm"' in asked.text, "then it asks, as always"
    published = alice.post(decide, data={**form, "checked_flags": "true", "confirmed": "yes"})
    assert published.status_code == 303, published.text
    assert "/mod/alerts/RF-" in published.headers["location"]
