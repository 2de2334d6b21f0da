"""Words and forms (issue 13): error summaries that name the field, phone numbers and towns
that say what is expected, the sign-up's keyboards and code page, plurals and dates from
CLDR (Babel), Spanish that does not assume every worker is a woman, the client check after
a hit, and the deployment's name in titles, SMS and email."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from babel import Locale
from fastapi.testclient import TestClient
from sqlmodel import Session

from alerts import service as alerts_service
from alerts.render import (
    AlertView,
    render_email,
    render_retraction_sms,
    render_sms,
    render_update_email,
)
from app.crypto import Crypto
from app.db import utcnow
from app.i18n import LANGUAGES, Translator, catalog, translate, use_site_name
from app.settings import Settings
from tests.test_pages import Page, form_data
from tests.test_subscriptions import (
    EMAIL,
    PHONE,
    alert_about,
    client,
    last_code,
    last_link,
    subscribed,
)

__all__ = ["client"]  # the fixture (a client whose messages go out), for the tests below

FOREIGN_EXAMPLE = "+40 712 034 567"  # libphonenumber's example Romanian mobile


def summary(page: str) -> list[str]:
    """The error summary's lines, as a reader sees them."""
    box = re.search(r'<div class="summary" id="error-summary".*?</ul>', page, re.S)
    assert box, "no error summary"
    return [
        html.unescape(re.sub(r"<[^>]+>", "", item))
        for item in re.findall(r"<li>(.*?)</li>", box.group(0))
    ]


def h1(page: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert found
    return html.unescape(found.group(1))


# ---- 1. error summaries name the field, in the form's order ------------------------------------


def test_the_report_forms_summary_names_each_field_in_the_forms_order(client: TestClient) -> None:
    page = client.post(
        "/en/report",
        data=form_data(place="", incident_date="", phones="0612345678, 12", categories=[]),
    )
    assert page.status_code == 422
    lines = summary(page.text)
    assert [line.split(":")[0] for line in lines] == [
        "Town or municipality",
        "Date",
        "What the client did",
        "Phone number",
    ]
    assert lines[0] == "Town or municipality: Please fill this in."
    assert lines[3].startswith("Phone number: Number 2 is not a phone number we can use.")


def test_a_wrong_phone_number_says_what_is_expected_with_a_hint_for_foreign_numbers(
    client: TestClient,
) -> None:
    for lang, example in [("en", "e.g. 06 12345678"), ("nl", "bijvoorbeeld 06 12345678")]:
        page = client.post(f"/{lang}/report", data=form_data(phones="999"))
        error = html.unescape(re.search(r'id="phones-error">(.*?)<', page.text).group(1))  # type: ignore[union-attr]
        assert example in error and FOREIGN_EXAMPLE in error, error
    es = client.post("/es/report", data=form_data(phones="999"))
    assert f"por ejemplo {FOREIGN_EXAMPLE}" in html.unescape(es.text)
    assert "999" not in summary(es.text)[0], "errors never echo the input"


def test_a_town_that_does_not_match_offers_the_closest_names(client: TestClient) -> None:
    page = client.post("/en/report", data=form_data(place="Asen"))
    [line] = summary(page.text)
    assert line == "Town or municipality: We don't know this place. Did you mean Asten or Assen?"
    spanish = client.post("/es/subscribe", data={"channel": "sms", "phone": PHONE, "place": "Asen"})
    assert "¿Quieres decir Asten o Assen?" in html.unescape(spanish.text)
    one = client.post("/en/report", data=form_data(place="Groningn"))
    assert summary(one.text)[0].endswith("Did you mean Groningen?")
    nowhere = client.post("/en/report", data=form_data(place="Xqzwv"))
    assert catalog("en")["error.place_unknown"] in html.unescape(nowhere.text)


def test_every_public_form_with_a_summary_names_its_fields(client: TestClient, twilio: Any) -> None:
    sign_up = client.post("/en/subscribe", data={"channel": "sms", "phone": "", "place": ""})
    assert summary(sign_up.text) == [
        "Your mobile number: Please fill this in.",
        "Where you work: Please fill this in.",
    ], "in the form's order: the number comes before the place"
    bad_number = client.post(
        "/en/subscribe", data={"channel": "sms", "phone": "12", "place": "Assen"}
    )
    assert summary(bad_number.text)[0].startswith("Your mobile number: This is not a phone number")
    assert FOREIGN_EXAMPLE in summary(bad_number.text)[0]

    client.post("/en/subscribe", data={"channel": "sms", "phone": PHONE, "place": "Assen"})
    code = client.post("/en/subscribe/code", data={"channel": "sms", "contact": PHONE, "code": "0"})
    assert summary(code.text) == ["Code: The code is wrong or has expired."]

    leave = client.post("/en/leave", data={"channel": "sms", "contact": "nonsense"})
    assert summary(leave.text) == [
        "Your mobile number or email address: This number or address is not valid."
    ]
    lookup = client.post("/en/status", data={"receipt_code": "AAAA-BBBB-CCCC"})
    assert summary(lookup.text)[0].startswith("Receipt code: No report matches")


def test_the_check_forms_summary_names_the_number(
    make_client: Callable[..., TestClient], delivery_settings: Callable[..., Settings]
) -> None:
    with make_client(delivery_settings(check_access="open")) as client:
        page = client.post("/nl/check", data={"number": "12"})
    [line] = summary(page.text)
    assert line.startswith("Telefoonnummer van de klant: Dit is geen telefoonnummer")
    assert FOREIGN_EXAMPLE in line


# ---- 2. the sign-up's keyboards, headings and code page ---------------------------------------


def test_the_phone_field_brings_up_the_telephone_keyboard(client: TestClient) -> None:
    controls = {c["id"]: c for c in Page(client.get("/en/subscribe").text).controls}
    phone, email = controls["phone"], controls["email"]
    assert (phone["type"], phone["inputmode"], phone["autocomplete"]) == ("tel", "tel", "tel")
    assert (email["type"], email["autocomplete"]) == ("email", "email")


@pytest.mark.parametrize("lang", ["nl", "en", "es"])
def test_the_leave_pages_heading_says_what_it_does(client: TestClient, lang: str) -> None:
    heading = h1(client.get(f"/{lang}/leave").text)
    assert heading == catalog(lang)["leave.title"]
    assert {"en": "Stop", "nl": "Stoppen", "es": "Dejar de recibir"}[lang] in heading


def test_the_code_page_sends_the_code_again_through_the_outbox(
    client: TestClient, twilio: Any
) -> None:
    first = client.post(
        "/en/subscribe",
        data={"channel": "sms", "phone": "06 8765 4321", "place": "Asse", "place2": "Drenthe"},
    )
    assert first.status_code == 422  # "Asse" is not a town: the form says so
    asked = client.post(
        "/en/subscribe",
        data={"channel": "sms", "phone": "06 8765 4321", "place": "Assen", "place2": "Drenthe"},
    )
    assert 'id="send-again"' in asked.text and 'id="wrong-contact"' in asked.text
    old = last_code(client, twilio)
    again = re.search(
        r'<form method="post" action="/en/subscribe"[^>]*data-once>(.*?)</form>', asked.text, re.S
    )
    assert again, "a form that sends the code again"
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', again.group(1)))
    assert fields["place2"] == "Drenthe" and fields["again"] == "yes"
    resent = client.post("/en/subscribe", data=fields)
    assert resent.status_code == 200 and 'name="code"' in resent.text
    assert catalog("en")["words.code.again_done"] in resent.text
    new = last_code(client, twilio)
    codes = [m for m in twilio.sent_to(PHONE) if re.search(r"\b\d{6}\b", m["body"])]
    assert len(codes) == 2 and old in codes[0]["body"], "a second code went out"
    done = client.post("/en/subscribe/code", data={**fields, "again": "", "code": new})
    assert "You will get warnings for Assen, Drenthe" in html.unescape(done.text)


def test_wrong_number_goes_back_to_the_form_as_filled_in(client: TestClient, twilio: Any) -> None:
    asked = client.post(
        "/nl/subscribe",
        data={"channel": "sms", "phone": "06 8765 4321", "place": "Assen", "severity": "serious"},
    )
    form = re.search(
        r'<form method="post" action="/nl/subscribe" autocomplete="off">(.*?)</form>',
        asked.text,
        re.S,
    )
    assert form and 'id="wrong-contact"' in form.group(1)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(1)))
    assert fields["edit"] == "yes"
    back = client.post("/nl/subscribe", data=fields)
    assert h1(back.text) == catalog("nl")["subscribe.title"]
    assert 'value="06 8765 4321"' in back.text and 'value="Assen"' in back.text
    assert 'value="serious" checked' in back.text
    assert "Verkeerd nummer?" in asked.text
    leave = client.post("/en/leave", data={"channel": "sms", "contact": PHONE})
    assert 'href="/en/leave">Wrong number?</a>' in leave.text


def test_send_again_answers_the_same_whether_or_not_the_number_is_known(
    client: TestClient, twilio: Any
) -> None:
    subscribed(client, twilio)
    stranger = "+31611223344"
    known = client.post("/en/leave", data={"channel": "sms", "contact": PHONE, "again": "yes"})
    unknown = client.post("/en/leave", data={"channel": "sms", "contact": stranger, "again": "yes"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(PHONE, stranger) == unknown.text
    assert catalog("en")["words.code.again_done"] in known.text
    last_code(client, twilio)  # the worker sends what is due
    assert any("code om te stoppen" in m["body"] for m in twilio.sent_to(PHONE))  # in Dutch
    assert twilio.sent_to(stranger) == [], "nothing to an unknown number, and the same answer"


def test_the_email_confirmation_says_nothing_about_answering_an_sms(
    client: TestClient, mailbox: Any
) -> None:
    asked = client.post(
        "/es/subscribe", data={"channel": "email", "email": EMAIL, "place": "Assen"}
    )
    assert h1(asked.text) == catalog("es")["subscribe.email_sent_title"]
    page = client.get(last_link(client, mailbox))
    token = re.search(r'name="token" value="([\w-]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = client.post("/es/subscribe/confirm", data={"token": token})
    main = re.search(r"<main.*</main>", done.text, re.S).group(0)  # type: ignore[union-attr]
    assert "Recibirás avisos para Assen" in main
    assert "BAJA" not in main and "SMS" not in main and "STOP" not in main


def test_only_the_email_field_filled_in_means_email(client: TestClient, mailbox: Any) -> None:
    """Without JavaScript both fields show and SMS is ticked: the filled-in one wins."""
    asked = client.post(
        "/en/subscribe", data={"channel": "sms", "phone": "", "email": EMAIL, "place": "Assen"}
    )
    assert h1(asked.text) == catalog("en")["subscribe.email_sent_title"]


# ---- 3. plurals, dates, Spanish ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "one", "two"),
    [
        ("en", "1 report", "2 reports"),
        ("nl", "1 melding", "2 meldingen"),
        ("es", "1 aviso", "2 avisos"),
    ],
)
def test_plurals_follow_the_languages_rules(lang: str, one: str, two: str) -> None:
    assert translate(lang, "check.reports", count=1) == one
    assert translate(lang, "check.reports", count=2) == two
    assert translate(lang, "check.reports", count=0) == two.replace("2", "0")


def test_plural_entries_are_keyed_by_the_languages_cldr_categories() -> None:
    plural = 0
    for lang in LANGUAGES:
        categories = Locale.parse(lang).plural_form.tags | {"other"}
        for key, entry in catalog(lang).items():
            if isinstance(entry, dict):
                plural += 1
                assert "other" in entry and set(entry) <= categories, (lang, key)
            else:
                assert not re.search(r"\w\((s|en|es)\)", entry), (lang, key, "not by hand")
    assert plural >= 3


def test_dates_read_as_each_language_writes_them() -> None:
    day = date(2026, 11, 30)
    assert Translator("es").date(day) == "30 de noviembre de 2026"
    assert Translator("nl").date(day) == "30 november 2026"
    assert Translator("en").date(day) == "November 30, 2026"


def test_the_status_page_dates_in_spanish(client: TestClient) -> None:
    receipt = client.post("/es/report", data=form_data())
    code = re.search(r'id="receipt-code">([0-9A-Z-]{14})<', receipt.text).group(1)  # type: ignore[union-attr]
    status = client.post("/es/status", data={"receipt_code": code})
    assert f"Enviado el {Translator('es').date(date.today())}" in status.text
    assert " de 20" in Translator("es").date(date.today())


def test_spanish_does_not_assume_every_worker_is_a_woman() -> None:
    feminine = re.compile(
        r"\b(trabajadoras|compañeras|chicas|todas|seguras|nosotras|solas|bienvenida|"
        r"cansada|sola|segura|tranquila|informada|preparada|suscrita|registrada)\b",
        re.IGNORECASE,
    )
    found = [
        (key, text)
        for key, entry in catalog("es").items()
        for text in (entry.values() if isinstance(entry, dict) else [entry])
        if feminine.search(text)
    ]
    assert found == []


# ---- 4. the client check after a hit -------------------------------------------------------------


def test_a_hit_shows_the_alerts_news_and_no_contradiction(
    make_client: Callable[..., TestClient],
    delivery_settings: Callable[..., Settings],
    session: Session,
    crypto: Crypto,
) -> None:
    ref = alert_about(session, crypto, "+31612345678")
    alert = alerts_service.get_by_ref(session, ref=ref)
    assert alert is not None
    alerts_service.add_update(
        session, alert=alert, text="Seen again in a grey van.", cipher=crypto.cipher
    )
    session.commit()
    with make_client(delivery_settings(check_access="open")) as client:
        hit = client.post("/en/check", data={"number": "06 1234 5678"})
        miss = client.post("/en/check", data={"number": "06 1122 3344"})
        api = client.post("/api/v1/check", json={"number": "0612345678"}).json()
    text = html.unescape(hit.text)
    assert "Seen again in a grey van." in text
    assert f"News, {Translator('en').date(utcnow().date())}:" in text
    assert "1 report" in text and "report(s)" not in text
    assert catalog("en")["check.not_guarantee"] not in text
    assert catalog("en")["check.not_guarantee"] in html.unescape(miss.text)
    assert api["alerts"][0]["updates"][0]["text"] == "Seen again in a grey van."


# ---- 5. the deployment's name ------------------------------------------------------------------

WORDS_THAT_TELL = re.compile(
    r"report|client|violen|sex|danger|warn|alert|meld|klant|geweld|seks|waarschuw|"
    r"aviso|cliente|violencia|sexual|peligro|alerta",
    re.IGNORECASE,
)


@pytest.fixture
def nightwatch(
    make_client: Callable[..., TestClient], delivery_settings: Callable[..., Settings]
) -> Iterator[TestClient]:
    with make_client(delivery_settings(site_name="Nachtwacht", check_access="open")) as c:
        yield c
    use_site_name("redflag")


def test_public_page_titles_are_the_sites_name_alone(nightwatch: TestClient, twilio: Any) -> None:
    pages = [
        nightwatch.get(path)
        for path in ["/en/", "/nl/status", "/es/subscribe", "/en/check", "/nl/leave", "/en/nowhere"]
    ]
    pages.append(nightwatch.post("/es/report", data=form_data()))
    pages.append(nightwatch.post("/en/report", data=form_data(place="")))
    pages.append(
        nightwatch.post("/nl/subscribe", data={"channel": "sms", "phone": PHONE, "place": "Assen"})
    )
    for page in pages:
        [title] = re.findall(r"<title>(.*?)</title>", page.text)
        assert title == "Nachtwacht"
    assert not WORDS_THAT_TELL.search("Nachtwacht")


def test_the_moderators_pages_carry_the_sites_name(nightwatch: TestClient) -> None:
    login = nightwatch.get("/mod/login").text
    assert re.findall(r"<title>(.*?)</title>", login) == ["Log in · Nachtwacht moderation"]
    assert '<span class="brand">Nachtwacht moderation</span>' in login


def test_the_default_name_is_discreet(settings: Settings) -> None:
    assert settings.site_name == "redflag"
    with pytest.raises(ValueError, match="site_name"):
        Settings(site_name=" ")


def test_sms_and_email_name_the_deployment(nightwatch: TestClient, twilio: Any) -> None:
    view = AlertView(
        ref="A1B2", severity="high", text="Took the money back.", region_names=["Assen"],
        categories=["robbery"], incident_date=date(2026, 11, 30), part_of_day="evening",
    )  # fmt: skip
    for lang in LANGUAGES:
        sms = render_sms(view, lang, masking="partial")
        assert sms.startswith("Nachtwacht ") and "redflag" not in sms
        assert render_retraction_sms(view, lang).startswith("Nachtwacht: ")
        mail = render_email(view, lang, masking="partial", unsubscribe_url="https://x/u/1")
        assert "Nachtwacht" in mail.subject and "Nachtwacht" in mail.text
        assert "redflag" not in mail.text + mail.html
        update = render_update_email(view, lang, text="Seen again.", unsubscribe_url="https://x")
        assert "Nachtwacht" in update.subject
    assert (
        Translator("es").date(view.incident_date)
        in render_email(view, "es", masking="partial", unsubscribe_url="https://x").text
    )
    nightwatch.post("/en/subscribe", data={"channel": "sms", "phone": PHONE, "place": "Assen"})
    last_code(nightwatch, twilio)  # the worker sends it
    assert twilio.sent_to(PHONE)[-1]["body"].startswith("Your Nachtwacht code: ")


def test_a_hit_in_the_check_dates_in_the_languages_words(
    nightwatch: TestClient, session: Session, crypto: Crypto
) -> None:
    alert_about(session, crypto, "+31612345678")  # its incident was on 19 November 2026
    page = nightwatch.post("/es/check", data={"number": "0612345678"})
    assert "19 de noviembre de 2026" in page.text
    assert "Nachtwacht PELIGRO URGENTE" in page.text
