"""Someone who was just hurt (issue 13): whom to call, when to come back, adding information.

Pages through the TestClient; the same pages at 360 px in Chromium are in
tests/test_care_browser.py.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from alerts.check import members
from alerts.models import Subscriber
from app.crypto import Crypto
from app.db import utcnow
from app.i18n import LANGUAGES, Translator, catalog
from app.reports import service
from app.reports.models import (
    MAX_ADDITIONS,
    MAX_MESSAGE,
    PURPOSE_MESSAGE,
    Report,
    ReportCreate,
    ReportMessage,
    ReportStatus,
)
from app.reports.pages import wait_words
from app.retention import Policy
from app.settings import Settings, SettingsError, load_settings
from app.support import service as support_service
from tests.conftest import Team
from tests.helpers import add_sms_subscribers, report_body
from tests.test_moderation_pages import csrf, log_in
from tests.test_pages import post_form, receipt_code

Auth = Callable[[Any], dict[str, str]]
M = "/api/v1/moderation"


def texts(page: str) -> str:
    """The page's text as a reader sees it: tags dropped, entities and spaces as typed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# ---- whom to call ----------------------------------------------------------------------------


def entry(name: str, scope: str | list[str], phone: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "scope": scope,
        "phone": phone,
        "hours": {"nl": "Altijd open", "en": "Always open", "es": "Siempre abierto"},
        "helps_with": {
            "nl": f"Hulp van {name}",
            "en": f"Help from {name}",
            "es": f"Ayuda de {name}",
        },
        "source": {"url": "https://example.org/help", "checked": "2026-11-01"},
    }
    body.update(overrides)
    return body


def write_support(tmp_path: Path, entries: list[dict[str, Any]], **top: Any) -> Path:
    path = tmp_path / "support.json"
    path.write_text(json.dumps({"source": "test", "entries": entries, **top}), encoding="utf-8")
    return path


@pytest.fixture
def local_support(tmp_path: Path) -> Path:
    """A deployment's file: one national line, one for Drenthe, one for Amsterdam."""
    return write_support(
        tmp_path,
        [
            entry("Landelijke Hulplijn", "national", "0800-1111"),
            entry("Drentse Hulp", ["NL-DR"], "0592 123456"),
            entry("Amsterdamse Hulp", ["GM0363"], "020 1234567"),
        ],
    )


def test_the_shipped_dutch_defaults_load_and_are_marked_unchecked() -> None:
    support = support_service.load(None)
    assert support.emergency == "112"
    by_name = {e.name: e for e in support.entries}
    assert by_name["Centrum Seksueel Geweld"].phone == "0800-0188"
    assert by_name["Centrum Seksueel Geweld"].tel == "08000188"
    assert by_name["Veilig Thuis"].phone == "0800-2000"
    assert by_name["Politie (geen spoed)"].phone == "0900-8844"
    assert all(e.is_national for e in support.entries)
    assert all(e.source.checked is None for e in support.entries), "nobody checked them yet"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_receipt_says_call_112_where_to_get_care_and_pep(client: TestClient, lang: str) -> None:
    page = post_form(client, lang).text
    _ = Translator(lang)
    assert f'href="tel:112">{_("care.danger", number="112")}</a>' in page
    assert page.index("call-emergency") < page.index("receipt-code"), "at the top of the page"
    shown = texts(page)
    for key in ("care.medical", "care.pep_title", "care.pep", "care.orgs_title"):
        assert _(key) in shown
    assert "72" in _("care.pep") and "PEP" in _("care.pep")
    assert 'href="tel:08000188">0800-0188</a>' in page, "Centrum Seksueel Geweld, one tap"
    assert "Centrum Seksueel Geweld" in page and "Veilig Thuis" in page


def test_a_deployments_file_replaces_the_defaults_and_the_reports_region_comes_first(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Any],
    local_support: Path,
) -> None:
    settings = make_settings(database_url="sqlite://", support_file=local_support)
    with make_client(settings) as client:
        receipt = post_form(client, "en", place="Assen").text  # Assen lies in Drenthe
        status = client.post("/nl/status", data={"receipt_code": receipt_code(receipt)}).text
    for page in (receipt, status):
        assert "Centrum Seksueel Geweld" not in page, "the deployment's file replaces the defaults"
        assert "Amsterdamse Hulp" not in page, "another region's line is not shown"
        assert page.index("Drentse Hulp") < page.index("Landelijke Hulplijn"), "local first"
        assert 'href="tel:0592123456">0592 123456</a>' in page
    assert "Hulp van Drentse Hulp" in status and "Always open" in receipt


def test_the_check_page_shows_the_members_region_or_else_the_national_lines(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Any],
    local_support: Path,
    session: Session,
    crypto: Crypto,
) -> None:
    open_settings = make_settings(
        database_url="sqlite://", support_file=local_support, check_access="open"
    )
    with make_client(open_settings) as client:
        anyone = client.get("/es/check").text
    assert Translator("es")("care.danger", number="112") in anyone
    assert "Landelijke Hulplijn" in anyone and "Drentse Hulp" not in anyone

    add_sms_subscribers(session, crypto, 1, region="GM0106")  # a member in Assen
    [member_id] = session.exec(select(Subscriber.id)).all()
    member_settings = make_settings(database_url="sqlite://", support_file=local_support)
    assert member_id is not None
    token, _ = members.issue(member_id, member_settings)
    with make_client(member_settings) as client:
        checked = client.post("/en/check", data={"token": token, "number": "0612345678"})
        wrong = client.post("/en/check", data={"token": token, "number": "not a number"})
    assert checked.status_code == 200
    assert 'data-found="no"' in checked.text
    assert checked.text.index("Drentse Hulp") < checked.text.index("Landelijke Hulplijn")
    assert "Amsterdamse Hulp" not in checked.text
    assert wrong.status_code == 422 and "Drentse Hulp" in wrong.text


def test_a_broken_support_file_stops_the_start_naming_each_bad_entry(
    tmp_path: Path, test_keys: dict[str, str]
) -> None:
    path = write_support(
        tmp_path,
        [
            entry("Goede Hulp", "national", "0800-1111"),
            entry(
                "Kapotte Hulp",
                ["GM 0106"],
                "call us",
                hours={"nl": "Altijd", "en": "Always"},
            ),
            entry(
                "Toekomst", "national", "0800-2222", source={"url": "x", "checked": "2999-01-01"}
            ),
        ],
    )
    with pytest.raises(SettingsError) as raised:
        load_settings(**test_keys, secrets_file=tmp_path / "s.env", support_file=path)
    message = str(raised.value)
    assert "REDFLAG_SUPPORT_FILE" in message
    assert "entries[1] (Kapotte Hulp): scope" in message and "'GM 0106'" in message
    assert "entries[1] (Kapotte Hulp): phone" in message
    assert "entries[1] (Kapotte Hulp): hours.es: Field required" in message
    assert "entries[2] (Toekomst): source.url" in message
    assert "entries[2] (Toekomst): source.checked" in message and "future" in message
    assert "Goede Hulp" not in message

    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(SettingsError, match="cannot read support file"):
        load_settings(
            **test_keys, secrets_file=tmp_path / "s.env", support_file=tmp_path / "broken.json"
        )


# ---- when to come back -----------------------------------------------------------------------


def report_at(
    session: Session,
    crypto: Crypto,
    submitted: datetime,
    *,
    decided: datetime | None = None,
    asked: datetime | None = None,
) -> Report:
    """A report that arrived at `submitted`, decided and/or asked about at the times given."""
    report_id, _ = service.submit(
        session, data=ReportCreate.model_validate(report_body()), crypto=crypto, default_region="NL"
    )
    report = session.get(Report, report_id)
    assert report is not None
    report.submitted_at = submitted
    if decided is not None:
        report.status = ReportStatus.rejected.value
        report.decided_at = decided
    if asked is not None:
        session.add(
            ReportMessage(
                report_id=report_id,
                author="moderator",
                body_enc=crypto.cipher.encrypt("Where?", purpose=PURPOSE_MESSAGE),
                created_at=asked,
            )
        )
    session.add(report)
    session.flush()
    return report


def test_the_wait_is_the_median_time_to_a_first_decision_in_the_last_30_days(
    session: Session, crypto: Crypto
) -> None:
    now = utcnow().replace(microsecond=0)
    day = now - timedelta(days=3)
    for hours in (1, 2, 3, 4, 10):
        report_at(session, crypto, day, decided=day + timedelta(hours=hours))
    assert service.typical_wait(session, now=now) == timedelta(hours=3)

    # The first decision counts: a question after 1 hour, the rejection two days later.
    report_at(session, crypto, day, asked=day + timedelta(hours=1), decided=day + timedelta(days=2))
    assert service.typical_wait(session, now=now) == timedelta(hours=2.5)

    # Decisions older than 30 days and reports still waiting do not count.
    old = now - timedelta(days=40)
    for _ in range(5):
        report_at(session, crypto, old, decided=old + timedelta(hours=90))
    report_at(session, crypto, now - timedelta(days=20))
    assert service.typical_wait(session, now=now) == timedelta(hours=2.5)


def test_with_fewer_than_five_decisions_the_wait_is_not_guessed(
    session: Session, crypto: Crypto
) -> None:
    now = utcnow()
    for hours in (1, 2, 3, 4):
        report_at(session, crypto, now - timedelta(days=1), decided=now - timedelta(hours=hours))
    assert service.typical_wait(session, now=now) is None


@pytest.mark.parametrize(
    ("wait", "words"),
    [
        (timedelta(minutes=20), "within about an hour."),
        (timedelta(minutes=89), "within about an hour."),
        (timedelta(hours=2, minutes=29), "within about 2 hours."),
        (timedelta(hours=2, minutes=30), "within about 3 hours."),
        (timedelta(hours=23, minutes=20), "within about 23 hours."),
        (timedelta(hours=23, minutes=40), "within about a day."),
        (timedelta(hours=35), "within about a day."),
        (timedelta(hours=36), "within about 2 days."),
        (timedelta(days=4, hours=13), "within about 5 days."),
        (None, "We cannot yet say how long it usually takes."),
    ],
)
def test_the_wait_in_rounded_words(wait: timedelta | None, words: str) -> None:
    assert words in wait_words(Translator("en"), wait)


def test_the_wait_follows_each_languages_plural_rules() -> None:
    dutch, spanish = Translator("nl"), Translator("es")
    assert "ongeveer een uur" in wait_words(dutch, timedelta(minutes=50))
    assert "ongeveer 4 dagen" in wait_words(dutch, timedelta(days=4))
    assert "unas 2 horas" in wait_words(spanish, timedelta(hours=2))
    assert "un día" in wait_words(spanish, timedelta(hours=30))


def test_the_receipt_and_the_status_page_say_when_to_come_back(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    before = post_form(client, "en").text
    assert catalog("en")["care.wait_unknown"] in before

    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    for hours in (2, 3, 3, 5, 8):
        report_at(session, crypto, start, decided=start + timedelta(hours=hours))
    session.commit()
    receipt = post_form(client, "en").text
    assert "Our moderators usually respond to a report within about 3 hours." in receipt
    status = client.post("/nl/status", data={"receipt_code": receipt_code(receipt)}).text
    assert "Onze moderatoren reageren meestal binnen ongeveer 3 uur op een melding." in status


# ---- adding information ------------------------------------------------------------------------


def test_a_reporter_adds_information_on_the_status_page(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    code = receipt_code(post_form(client, "en").text)
    page = client.post("/en/status", data={"receipt_code": code}).text
    assert 'action="/en/status/add"' in page

    added = client.post(
        "/en/status/add", data={"receipt_code": code, "addition": "He drives a green van."}
    )
    assert added.status_code == 200
    assert catalog("en")["care.add_done"] in added.text
    assert "You added information on" in added.text
    assert "green van" not in added.text, "what was added is not shown back"

    report = service.find_by_receipt(session, crypto=crypto, receipt_code=code)
    [row] = session.exec(select(ReportMessage).where(ReportMessage.report_id == report.id)).all()
    assert row.author == "addition"
    assert b"green van" not in row.body_enc, "stored encrypted"
    assert crypto.cipher.decrypt(row.body_enc, purpose=PURPOSE_MESSAGE) == "He drives a green van."
    assert report.status == ReportStatus.submitted.value, "adding is not answering"


def test_empty_and_too_long_additions_are_refused_and_nothing_is_kept(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    code = receipt_code(post_form(client, "es").text)
    empty = client.post("/es/status/add", data={"receipt_code": code, "addition": "   "})
    assert empty.status_code == 422
    assert catalog("es")["care.add_empty"] in empty.text
    long = "x" * (MAX_MESSAGE + 1)
    too_long = client.post("/es/status/add", data={"receipt_code": code, "addition": long})
    assert too_long.status_code == 422
    assert Translator("es")("error.too_long", max=MAX_MESSAGE) in too_long.text
    assert long in too_long.text, "what was typed is kept in the form"
    wrong = client.post("/es/status/add", data={"receipt_code": "AAAA-BBBB-CCCC", "addition": "x"})
    assert wrong.status_code == 404
    assert session.exec(select(ReportMessage)).all() == []


def test_a_closed_report_takes_no_more_and_says_why(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    code = receipt_code(post_form(client, "nl").text)
    report = service.find_by_receipt(session, crypto=crypto, receipt_code=code)
    service.transition(report, ReportStatus.in_review)
    service.transition(report, ReportStatus.rejected)
    session.commit()

    page = client.post("/nl/status", data={"receipt_code": code}).text
    assert 'action="/nl/status/add"' not in page
    assert catalog("nl")["care.add_closed"] in page

    refused = client.post("/nl/status/add", data={"receipt_code": code, "addition": "Nog iets"})
    assert refused.status_code == 422
    assert catalog("nl")["care.add_closed"] in refused.text
    api = client.post("/api/v1/reports/add", json={"receipt_code": code, "message": "Nog iets"})
    assert api.status_code == 409
    assert "rejected, so it is closed" in api.json()["detail"]
    assert "send a new report" in api.json()["detail"]
    assert session.exec(select(ReportMessage)).all() == []


def test_the_api_adds_information_up_to_a_limit(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    response = client.post("/api/v1/reports", json=report_body())
    code = response.json()["receipt_code"]
    version = service.find_by_receipt(session, crypto=crypto, receipt_code=code).version
    blank = client.post("/api/v1/reports/add", json={"receipt_code": code, "message": "  "})
    assert blank.status_code == 422 and "message" in blank.text
    too_long = {"receipt_code": code, "message": "x" * (MAX_MESSAGE + 1)}
    assert client.post("/api/v1/reports/add", json=too_long).status_code == 422

    for i in range(MAX_ADDITIONS):
        body = {"receipt_code": code, "message": f"Detail {i}"}
        added = client.post("/api/v1/reports/add", json=body)
        assert added.status_code == 200, added.text
    assert len(added.json()["added_on"]) == MAX_ADDITIONS
    assert added.json()["can_add"] is False
    one_more = client.post("/api/v1/reports/add", json={"receipt_code": code, "message": "more"})
    assert one_more.status_code == 409
    assert f"{MAX_ADDITIONS} additions" in one_more.json()["detail"]
    session.expire_all()
    report = service.find_by_receipt(session, crypto=crypto, receipt_code=code)
    assert report.version == version + MAX_ADDITIONS, "a moderator's older view is out of date"

    unknown = client.post(
        "/api/v1/reports/add", json={"receipt_code": "AAAA-BBBB-CCCC", "message": "x"}
    )
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "No report matches this receipt code."}


def test_adding_information_is_rate_limited_like_the_code_lookup(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Any]
) -> None:
    with make_client(
        make_settings(database_url="sqlite://", rate_limit_lookup="2/minute")
    ) as client:
        code = client.post("/api/v1/reports", json=report_body()).json()["receipt_code"]
        body = {"receipt_code": code, "addition": "Green van"}
        assert client.post("/en/status/add", data=body).status_code == 200
        assert client.post("/en/status", data={"receipt_code": code}).status_code == 200
        limited = client.post("/en/status/add", data=body)
        api = client.post("/api/v1/reports/add", json={"receipt_code": code, "message": "x"})
    assert limited.status_code == 429
    assert catalog("en")["error.rate_limited"] in limited.text
    assert api.status_code == 429 and "retry-after" in api.headers


def test_added_information_goes_with_the_reports_text(
    client: TestClient, session: Session, crypto: Crypto, settings: Settings
) -> None:
    codes = [
        client.post("/api/v1/reports", json=report_body()).json()["receipt_code"] for _ in "ab"
    ]
    for code in codes:
        body = {"receipt_code": code, "message": "Green van"}
        assert client.post("/api/v1/reports/add", json=body).status_code == 200
    withdrawn, decided = (
        service.find_by_receipt(session, crypto=crypto, receipt_code=c) for c in codes
    )
    service.withdraw(session, report=withdrawn)
    service.transition(decided, ReportStatus.in_review)
    service.transition(decided, ReportStatus.rejected)
    decided.decided_at = utcnow() - timedelta(days=400)
    session.add(decided)
    service.purge_decided(session, Policy.from_settings(settings))
    assert (
        session.exec(
            select(ReportMessage).where(
                col(ReportMessage.report_id).in_([withdrawn.id, decided.id])
            )
        ).all()
        == []
    )


# ---- what the moderators see -------------------------------------------------------------------


def test_moderators_see_added_information_in_the_queue_and_the_review(
    client: TestClient, session: Session, crypto: Crypto, team: Team, auth: Auth
) -> None:
    plain = client.post("/api/v1/reports", json=report_body()).json()["receipt_code"]
    code = client.post("/api/v1/reports", json=report_body()).json()["receipt_code"]
    rid = service.find_by_receipt(session, crypto=crypto, receipt_code=code).id
    claimed = client.post(f"{M}/reports/{rid}/claim", headers=auth(team.alice)).json()
    body = {"receipt_code": code, "message": "He drives a green van."}
    assert client.post("/api/v1/reports/add", json=body).status_code == 200

    queue = {i["id"]: i for i in client.get(f"{M}/queue", headers=auth(team.alice)).json()}
    plain_id = service.find_by_receipt(session, crypto=crypto, receipt_code=plain).id
    assert queue[rid]["added_information"] == 1
    assert queue[plain_id]["added_information"] == 0
    assert "green van" not in json.dumps(queue), "the queue never shows text"

    review = client.get(f"{M}/reports/{rid}", headers=auth(team.alice)).json()
    assert {"author": "addition", "text": "He drives a green van."}.items() <= review["messages"][
        0
    ].items()
    stale = client.post(
        f"{M}/reports/{rid}/reject",
        headers=auth(team.alice),
        json={"version": claimed["version"], "reason": "Not enough to go on"},
    )
    assert stale.status_code == 409, "a decision on a view without the addition is refused"


def test_the_queue_and_review_pages_mark_added_information(
    make_client: Callable[..., TestClient], settings: Settings, team: Team
) -> None:
    with make_client(settings, follow_redirects=False) as alice:
        code = receipt_code(post_form(alice, "en").text)
        addition = "He drives a green van. I'm Maria, call me on 06 9876 5432."
        data = {"receipt_code": code, "addition": addition}
        assert alice.post("/en/status/add", data=data).status_code == 200
        log_in(alice, "alice")
        queue = alice.get("/mod").text
        assert "+ added information" in queue
        assert "green van" not in queue
        opened = alice.post("/mod/queue/next", data={"csrf_token": csrf(alice)})
        review = alice.get(opened.headers["location"]).text
    assert 'id="added-information"' in review
    assert "Reporter added information" in review and "He drives a green van." in review
    # the redaction help reads what the reporter added as it reads the report
    flagged = re.findall(r'<mark class="flag" data-kind="(\w+)"[^>]*>([^<]*)</mark>', review)
    assert ("name", "Maria") in flagged and ("phone", "06 9876 5432") in flagged
