"""Invisible characters: cleaned before redaction, in the preview, and before sending."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from alerts import service as alerts_service
from alerts.models import PURPOSE_ALERT_TEXT
from alerts.render import AlertView, measure, render_update_sms
from app.crypto import Crypto
from moderation import alert_review, redaction
from tests.conftest import Team
from tests.helpers import report_body
from tests.test_moderation_api import M, claim, preview_body, publish_body, report_id, submit

Auth = Callable[[Any], dict[str, str]]

# What the attacker put into alert text: NUL, ESC, BEL, the right-to-left override, the
# byte-order mark, a zero-width space and a soft hyphen.
INVISIBLE = "\x00\x1b\x07\u202e\ufeff\u200b\u00ad"
TEXT = "Grabbed a worker and would not let her leave."
DIRTY = "Grab\u200bbed a \x00worker\x1b and\x07 would \u202enot let\ufeff her le\u00adave."


@pytest.mark.parametrize("ch", list(INVISIBLE))
def test_control_and_format_characters_are_left_out(ch: str) -> None:
    from app.text import clean  # here, so that each test fails on its own without app.text

    assert clean(f"a{ch}b") == "ab"


def test_clean_composes_and_keeps_lines_and_the_joiners_scripts_need() -> None:
    from app.text import clean

    assert clean("Jose\u0301") == "José"
    assert clean("one\r\ntwo\rthree\u2028four") == "one\ntwo\nthree\nfour"
    assert clean("a\tb\u00a0c") == "a b c", "a tab or no-break space would force UCS-2"
    assert clean("می\u200cخواهم") == "می\u200cخواهم", "Persian needs its ZWNJ"
    assert clean("👩\u200d💻") == "👩\u200d💻", "an emoji sequence keeps its ZWJ"
    assert clean("nina\u200d@mail.example") == "nina@mail.example", "no joiner in Latin text"
    assert clean(DIRTY) == TEXT


# Invisible, but neither control nor format characters: variation selectors (1, 15, 16, 17
# and 256), the combining grapheme joiner, the Khmer inherent vowels, the braille blank, the
# Hangul fillers, a Mongolian selector after a Latin letter and two reserved ignorables.
IGNORABLE = (
    "\ufe00\ufe0e\ufe0f\U000e0100\U000e01ef\u034f\u17b4\u17b5\u2800"
    "\u115f\u1160\u3164\uffa0\u180b\u2065\ufff0"
)
NO_REPORT: dict[str, Any] = {"default_region": "NL", "reported": set()}


@pytest.mark.parametrize("ch", list(IGNORABLE), ids=lambda ch: f"U+{ord(ch):04X}")
def test_other_invisible_characters_are_left_out(ch: str) -> None:
    from app.text import clean

    assert clean(f"a{ch}b") == "ab"
    assert clean(f"bit{ch}.ly/x") == "bit.ly/x"


def test_emoji_keep_their_selectors_and_subdivision_flags_their_tags() -> None:
    from app.text import clean

    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    wales = "\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f"
    for emoji in [england, wales, "❤️", "☎︎", "‼️", "1️⃣", "#️⃣", "🏳️\u200d🌈", "👁️\u200d🗨️"]:
        assert clean(f"Seen {emoji} here") == f"Seen {emoji} here", ascii(emoji)
    assert clean("a\U000e0067\U000e007fb") == "ab", "tags only after a black flag"
    assert clean(f"{england}\U000e0067") == england, "the cancel tag ends the flag"
    assert clean("1\ufe0f2") == "12", "a selector after a digit only in a keycap"
    assert clean("a\ufe0f\u200dб") == "aб", "no joiner beside a dropped selector"


def test_languages_and_emoji_sequences_come_through_as_typed() -> None:
    from app.text import clean

    typed = [
        "ลูกค้าคนนี้อันตราย ระวังตัวด้วย",  # Thai
        "Опасен клиент, пазете се.",  # Bulgarian
        "Bărbat periculos în București, Timișoara și Constanța.",  # Romanian
        "Veszélyes ügyfél Győrben, árvíztűrő tükörfúrógép.",  # Hungarian
        "Zażółć gęślą jaźń, niebezpieczny klient.",  # Polish
        "Não vá, cliente perigoso em São João, você também.",  # Portuguese
        "👨\u200d👩\u200d👧 🧑🏽\u200d💻 ❤️\u200d🔥 🏴\u200d☠️ 🇳🇱",  # ZWJ emoji and a flag
        "ᠮᠣᠩᠭᠣᠯ ᠨᠠ\u180eᠠ ᠭ\u180bᠠ",  # Mongolian: a vowel separator, a variation selector
    ]
    for text in typed:
        assert clean(text) == text, text
    decomposed = "Bucures\u0326ti, Constant\u0326a"  # s and t with a combining comma below
    assert clean(decomposed) == "Bucure\u0219ti, Constan\u021ba"


# Letters, marks, emoji and every invisible character that stays somewhere.
PARTS = list(
    "aé\u0301б🏴❤1\u20e3ᠭ \n\u200d\u200c\ufe0f\U000e0067\U000e007f\u180b\u180e" + IGNORABLE
)


@given(st.one_of(st.text(), st.text(alphabet=st.sampled_from(PARTS))))
def test_clean_text_stays_as_it_is(text: str) -> None:
    """Alert text is cleaned when stored and again when sent: the second time changes nothing."""
    from app.text import clean

    assert clean(clean(text)) == clean(text)


def test_a_variation_selector_does_not_hide_an_email_or_a_link() -> None:
    text = "Call nina\ufe0f@mail.example or bit\ufe0f.ly/x"
    flags = redaction.flag(text, **NO_REPORT)
    assert [(f.kind, text[f.start : f.end]) for f in flags] == [
        ("email", "nina\ufe0f@mail.example")
    ]
    assert redaction.has_link(text)
    for ch in IGNORABLE:
        assert redaction.has_link(f"Reply STOP. bit{ch}.ly/x"), f"U+{ord(ch):04X}"
        assert [f.kind for f in redaction.flag(f"n{ch}ina@mail.example", **NO_REPORT)] == ["email"]


def test_an_invisible_character_does_not_hide_an_email_or_a_phone_number() -> None:
    text = (
        "Call me: nina\u200b@mail.exa\u00admple or 06\u200b1112\u00ad2233. His: 06\ufeff12345678."
    )
    flags = redaction.flag(text, default_region="NL", reported={("phone", "+31612345678")})
    shown = [(f.kind, text[f.start : f.end], f.reported_identifier) for f in flags]
    assert shown == [
        ("email", "nina\u200b@mail.exa\u00admple", False),
        ("phone", "06\u200b1112\u00ad2233", False),
        ("phone", "06\ufeff12345678", True),
    ], "the spans are positions in the text as given"
    suggested = redaction.suggested_text(text, flags)
    assert suggested == "Call me: [...] or [...]. His: [...].", "the identifiers list shows his"


def test_the_review_flags_an_address_with_a_zero_width_space(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    body = report_body(what_happened="He took my number. Write to nina\u200b@mail.example please.")
    assert client.post("/api/v1/reports", json=body).status_code == 201
    rid = report_id(session)
    claim(client, auth(team.alice), rid)
    review = client.get(f"{M}/reports/{rid}", headers=auth(team.alice)).json()
    assert [f["kind"] for f in review["what_happened_flags"]] == ["email"]
    assert "nina" not in review["suggested_text"]
    assert "\u200b" not in review["suggested_text"]


def test_the_preview_shows_the_text_clean_and_in_gsm7(
    client: TestClient, team: Team, auth: Auth
) -> None:
    clean_sms = client.post(f"{M}/preview", headers=auth(team.alice), json=preview_body()).json()
    dirty = client.post(f"{M}/preview", headers=auth(team.alice), json=preview_body(text=DIRTY))
    assert dirty.status_code == 200
    assert dirty.json()["sms"] == clean_sms["sms"]
    assert dirty.json()["sms"]["en"]["encoding"] == "GSM-7"
    assert dirty.json()["warnings"] == []


def test_a_variation_selector_does_not_force_ucs2(
    client: TestClient, team: Team, auth: Auth
) -> None:
    selected = DIRTY.replace("worker", "wor\ufe0fker\u034f").replace("her", "h\U000e0100er\u2800")
    clean_sms = client.post(f"{M}/preview", headers=auth(team.alice), json=preview_body()).json()
    preview = client.post(
        f"{M}/preview", headers=auth(team.alice), json=preview_body(text=selected)
    )
    assert preview.status_code == 200
    assert preview.json()["sms"] == clean_sms["sms"]
    assert preview.json()["sms"]["en"]["encoding"] == "GSM-7"


def test_text_of_invisible_characters_only_is_refused(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    submit(client)
    rid = report_id(session)
    version = claim(client, auth(team.alice), rid)["version"]
    for path, body in [
        (f"{M}/preview", preview_body(text=INVISIBLE)),
        (f"{M}/reports/{rid}/publish", publish_body(version, text=INVISIBLE)),
    ]:
        response = client.post(path, headers=auth(team.alice), json=body)
        assert response.status_code == 422, path
        assert [e["field"] for e in response.json()["detail"]] == ["text"]


def test_alerts_and_updates_are_stored_and_sent_clean(
    client: TestClient, session: Session, team: Team, auth: Auth, crypto: Crypto
) -> None:
    submit(client)
    rid = report_id(session)
    version = claim(client, auth(team.alice), rid)["version"]
    published = client.post(
        f"{M}/reports/{rid}/publish",
        headers=auth(team.alice),
        json=publish_body(version, text=DIRTY),
    )
    assert published.status_code == 200, published.text
    ref = published.json()["alert_ref"]
    alert = alerts_service.get_by_ref(session, ref=ref)
    assert alert is not None
    assert crypto.cipher.decrypt(alert.text_enc, purpose=PURPOSE_ALERT_TEXT) == TEXT

    news = "Seen again\u200b near the station.\x1b"
    sent = client.post(f"{M}/alerts/{ref}/updates", headers=auth(team.bob), json={"text": news})
    assert sent.status_code == 201, sent.text
    empty = client.post(
        f"{M}/alerts/{ref}/updates", headers=auth(team.bob), json={"text": INVISIBLE}
    )
    assert empty.status_code == 422
    detail = client.get(f"{M}/alerts/{ref}", headers=auth(team.alice)).json()
    assert detail["text"] == TEXT
    [update] = detail["updates"]
    assert update["text"] == "Seen again near the station."
    # Clean text keeps every Latin-script language's SMS in GSM-7 (160 characters a part);
    # Bulgarian and Thai need UCS-2 whatever the text (70 a part).
    for sms in (detail["sms"], update["sms"]):
        encodings = {lang: length["encoding"] for lang, length in sms.items()}
        wanted = {lang: "UCS-2" if lang in {"bg", "th"} else "GSM-7" for lang in encodings}
        assert encodings == wanted


def test_rendering_cleans_text_stored_before_the_fix() -> None:
    view = AlertView(
        ref="RF-ABCDEF",
        severity="high",
        text=DIRTY,
        region_names=["Assen"],
        categories=["other"],
        incident_date=date(2026, 11, 1),
    )
    sms = render_update_sms(view, "en", text=DIRTY)
    assert TEXT in sms and measure(sms).encoding == "GSM-7"
    assert not set(INVISIBLE) & set(sms)


def test_the_composer_warns_about_a_link_without_refusing_it(
    client: TestClient, team: Team, auth: Auth
) -> None:
    text = "Grabbed a worker.\nReply STOP to end. bit.ly/x"
    preview = client.post(f"{M}/preview", headers=auth(team.alice), json=preview_body(text=text))
    assert preview.status_code == 200
    assert preview.json()["warnings"] == [alert_review.LINK_WARNING]
    for link in ["https://example.nl/x", "www.example.nl", "see example.nl now"]:
        assert redaction.has_link(link), link
    for not_link in [TEXT, "mail nina@mail.example", "e.g. at 12.30, i.e. late", "[...]"]:
        assert not redaction.has_link(not_link), not_link
