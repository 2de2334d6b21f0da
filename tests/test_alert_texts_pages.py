"""The composer's texts per language on the /mod pages, without JavaScript: the preview marks
each language that falls back to the written text with whom it reaches, and publishing asks
first, naming those languages."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from alerts import service as alerts_service
from alerts.models import Alert, Subscriber
from app.crypto import Crypto
from tests.conftest import Team
from tests.test_delivery import subscriber
from tests.test_mod_pages_confirm import claimed, composer_form, hidden_fields
from tests.test_moderation_pages import csrf, log_in

Clients = Callable[[], TestClient]
RO = "A urmărit o colegă de la gară."
TH = "สะกดรอยตามเพื่อนร่วมงานจากสถานีรถไฟ"
NO_TEXT_OF_THEIR_OWN = (
    "7 languages without a text of their own get the written text: NL (no subscribers),"
    " EN (no subscribers), ES (no subscribers), BG (no subscribers), HU (2 subscribers),"
    " PL (no subscribers), PT (no subscribers)."
)


def readers(session: Session, crypto: Crypto) -> list[Subscriber]:
    return [
        subscriber(session, crypto, "sms", "+31611111111", ["GM0106"], "ro"),
        subscriber(session, crypto, "sms", "+31633333333", ["GM0106"], "hu"),
        subscriber(session, crypto, "sms", "+31644444444", ["GM0106"], "hu"),
    ]


def test_the_composer_has_a_text_and_the_phrase_book_for_each_language(
    browser_like: Clients, team: Team
) -> None:
    alice = browser_like()
    log_in(alice, "alice")
    rid, _, _ = claimed(alice)
    page = alice.get(f"/mod/reports/{rid}").text
    for lang in ("nl", "en", "es", "ro", "bg", "hu", "pl", "pt", "th"):
        assert f'<textarea id="text_{lang}" name="text_{lang}"' in page
    # Readable without JavaScript: each sentence in the language, with the English beside it.
    assert '<span lang="th">ขับรถสีเทา</span> <span class="meta">Drives a grey car.</span>' in page
    assert '<span lang="bg">Иска секс без презерватив.</span>' in page


def test_the_preview_marks_each_fallback_with_whom_it_reaches(
    browser_like: Clients, team: Team, session: Session, crypto: Crypto
) -> None:
    readers(session, crypto)
    alice = browser_like()
    log_in(alice, "alice")
    rid, token, version = claimed(alice)
    form = composer_form(token, version, decision="preview", text_ro=RO, text_th=TH, text_hu=" ")
    page = alice.post(f"/mod/reports/{rid}/decide", data=form).text
    shown = dict(re.findall(r'<div class="sms[^"]*" data-lang="(\w\w)">(.*?)</div>', page, re.S))
    assert RO in shown["ro"] and "Falls back" not in shown["ro"]
    assert TH in shown["th"] and "Falls back" not in shown["th"]
    assert "Falls back to the written text — reaches 2 subscribers." in shown["hu"]
    assert "Followed a worker from the station." in shown["hu"]
    assert "Falls back to the written text — reaches 0 subscribers." in shown["pl"]
    assert f">{RO}</textarea>" in page, "the texts come back as typed"
    assert '<details class="field languages" id="languages" open>' in page


def test_publishing_with_fallbacks_asks_first_naming_them(
    browser_like: Clients, team: Team, session: Session, crypto: Crypto
) -> None:
    readers(session, crypto)
    alice = browser_like()
    log_in(alice, "alice")
    rid, token, version = claimed(alice)
    page = alice.get(f"/mod/reports/{rid}").text
    assert 'data-confirm="Publish this alert? It goes out now to 3 subscribers' in page

    asked = alice.post(
        f"/mod/reports/{rid}/decide", data=composer_form(token, version, text_ro=RO, text_th=TH)
    )
    assert asked.status_code == 200 and "<h1>Publish this alert?</h1>" in asked.text
    assert "It goes out now to 3 subscribers; it cannot be unsent" in asked.text
    assert NO_TEXT_OF_THEIR_OWN in asked.text
    session.expire_all()
    assert session.exec(select(Alert)).all() == [], "nothing kept before the answer"
    fields = hidden_fields(asked.text)
    assert ("text_ro", RO) in fields and ("text_th", TH) in fields

    pressed = {**dict(fields), "decision": "publish"}  # the Confirm button
    done = alice.post(f"/mod/reports/{rid}/decide", data=pressed)
    assert done.status_code == 303 and done.headers["location"].startswith("/mod/alerts/RF-")
    session.expire_all()
    [alert] = session.exec(select(Alert)).all()
    view = alerts_service.view(session, alert=alert, cipher=crypto.cipher)
    assert view.texts == {"ro": RO, "th": TH}
    assert view.text == "Followed a worker from the station."


def test_every_language_written_still_asks_but_names_no_fallback(
    browser_like: Clients, team: Team, session: Session
) -> None:
    alice = browser_like()
    log_in(alice, "alice")
    rid, token, version = claimed(alice)
    every = {f"text_{lang}": "Followed a worker." for lang in ("nl", "en", "es", "hu", "pl", "pt")}
    form = composer_form(
        token, version, text_ro=RO, text_th=TH, text_bg="Следеше колежка.", **every
    )
    asked = alice.post(f"/mod/reports/{rid}/decide", data=form)
    assert "<h1>Publish this alert?</h1>" in asked.text
    detail = re.search(r'<p id="confirm-detail">(.*?)</p>', asked.text, re.S)
    assert detail and detail[1] == ("It goes out now to 0 subscribers; it cannot be unsent.")


def test_an_update_takes_texts_per_language_on_the_alert_page(
    browser_like: Clients, team: Team, session: Session, crypto: Crypto
) -> None:
    readers(session, crypto)
    from tests.helpers import publish_alert

    alert = publish_alert(session, crypto)
    bob = browser_like()
    log_in(bob, "bob")
    form = {"csrf_token": csrf(bob), "text": "Seen again.", "text_ro": "Văzut din nou."}
    asked = bob.post(f"/mod/alerts/{alert.ref}/update", data=form)
    assert asked.status_code == 200 and f"Send this update on {alert.ref}?" in asked.text
    done = bob.post(f"/mod/alerts/{alert.ref}/update", data=dict(hidden_fields(asked.text)))
    assert done.headers["location"] == f"/mod/alerts/{alert.ref}?done=updated"
    page = bob.get(f"/mod/alerts/{alert.ref}").text
    update = page.split("<h2>Updates</h2>", 1)[1]
    ro = re.search(r'data-lang="ro">(.*?)</div>', update, re.S)
    hu = re.search(r'data-lang="hu">(.*?)</div>', update, re.S)
    assert ro and "Văzut din nou." in ro[1] and "the written text" not in ro[1]
    assert hu and "Seen again." in hu[1] and "the written text" in hu[1]

    too_long = {"csrf_token": csrf(bob), "text": "Seen again.", "text_th": "ก" * 321}
    refused = bob.post(f"/mod/alerts/{alert.ref}/update", data=too_long)
    assert refused.status_code == 422 and "texts.th" in refused.text


def test_a_sent_back_alert_comes_back_with_its_texts_and_is_resubmitted_with_them(
    browser_like: Clients, team: Team, session: Session, crypto: Crypto
) -> None:
    alice, carol = browser_like(), browser_like()
    log_in(alice, "alice")
    log_in(carol, "carol")
    rid, token, version = claimed(alice)
    form = composer_form(token, version, severity="critical", confirmed="yes", text_ro=RO)
    ref = alice.post(f"/mod/reports/{rid}/decide", data=form).headers["location"].split("/")[3]
    ref = ref.split("?")[0]
    carol.post(f"/mod/alerts/{ref}/send-back", data={"csrf_token": csrf(carol), "note": "TH?"})

    page = alice.get(f"/mod/alerts/{ref}").text
    assert f'name="text_ro" rows="2" maxlength="480" lang="ro">{RO}</textarea>' in page
    change = {
        "csrf_token": csrf(alice), "text": "Followed a worker.", "severity": "critical",
        "regions": ["GM0106"], "more_regions": "", "categories": ["stalking"],
        "text_ro": RO, "text_th": TH, "text_hu": "",
    }  # fmt: skip
    flagged = {**change, "text_th": "ฉันชื่อมาลีค่ะ"}
    refused = alice.post(f"/mod/alerts/{ref}/resubmit", data=flagged)
    assert refused.status_code == 422 and 'name="checked_flags"' in refused.text
    assert "Tick “I checked: this is not the reporter”" in refused.text
    assert ">ฉันชื่อมาลีค่ะ</textarea>" in refused.text, "what was typed stays"
    done = alice.post(f"/mod/alerts/{ref}/resubmit", data=change)
    assert done.headers["location"] == f"/mod/alerts/{ref}?done=resubmitted", done.text
    session.expire_all()
    [alert] = session.exec(select(Alert)).all()
    view = alerts_service.view(session, alert=alert, cipher=crypto.cipher)
    assert (view.text, view.texts) == ("Followed a worker.", {"ro": RO, "th": TH})


def test_an_update_with_a_flagged_text_comes_back_with_the_check_and_what_was_typed(
    browser_like: Clients, team: Team, session: Session, crypto: Crypto
) -> None:
    from tests.helpers import publish_alert

    alert = publish_alert(session, crypto)
    bob = browser_like()
    log_in(bob, "bob")
    typed = {"text": "Seen again.", "text_bg": "Казвам се Мария, видях го пак."}
    refused = bob.post(f"/mod/alerts/{alert.ref}/update", data={"csrf_token": csrf(bob), **typed})
    assert refused.status_code == 422
    assert "Tick “I checked: this is not the reporter” below the update" in refused.text
    assert 'name="checked_flags"' in refused.text
    assert (
        ">Seen again.</textarea>" in refused.text
        and ">Казвам се Мария, видях го пак.<" in refused.text
    )
    form = {"csrf_token": csrf(bob), **typed, "checked_flags": "true"}
    asked = bob.post(f"/mod/alerts/{alert.ref}/update", data=form)
    assert f"Send this update on {alert.ref}?" in asked.text
    done = bob.post(f"/mod/alerts/{alert.ref}/update", data=dict(hidden_fields(asked.text)))
    assert done.headers["location"] == f"/mod/alerts/{alert.ref}?done=updated"
