"""The public pages without a browser: languages, headers, forms, errors, status."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.crypto import Crypto
from app.i18n import LANGUAGES, catalog, phone_examples, translate
from app.reports import service
from app.reports.models import Report, ReportStatus
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


class Page(HTMLParser):
    """Just enough HTML parsing to check labels, links and resources."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.controls: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.wrapped: list[dict[str, str]] = []
        self.resources: list[str] = []
        self._in_label = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "label":
            self._in_label += 1
            if "for" in a:
                self.label_for.add(a["for"])
        if tag in {"input", "textarea", "select"} and a.get("type") != "hidden":
            (self.wrapped if self._in_label else self.controls).append(a)
        for attr in ("src", "href"):
            if a.get(attr) and tag in {"script", "link", "img", "iframe"}:
                self.resources.append(a[attr])

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._in_label -= 1


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "place": "Assen",
        "incident_date": date.today().isoformat(),
        "part_of_day": "night",
        "categories": ["physical_violence", "robbery"],
        "what_happened": "He took my phone and money.",
        "phones": "06 12345678",
        "emails": "",
        "plates": "",
        "handles": "",
        "description": "",
        "form_token": "",
    }
    data.update(overrides)
    return data


def post_form(client: TestClient, lang: str = "en", **overrides: Any) -> Any:
    return client.post(f"/{lang}/report", data=form_data(**overrides))


def receipt_code(html: str) -> str:
    match = re.search(r'id="receipt-code">([0-9A-Z-]{14})<', html)
    assert match, "no receipt code on the page"
    return match.group(1)


# ---- languages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "lang"),
    [("es-MX,es;q=0.9,en;q=0.5", "es"), ("nl-NL", "nl"), ("de-DE,en;q=0.4", "en"), ("", "en"),
     ("fr, nl;q=0.2, es;q=0.8", "es"), ("nl;q=0, es", "es")],
)  # fmt: skip
def test_root_sends_people_to_their_language(client: TestClient, accept: str, lang: str) -> None:
    response = client.get("/", headers={"accept-language": accept}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/{lang}/"


def test_catalogues_have_the_same_keys_and_no_empty_texts() -> None:
    keys = set(catalog("en"))
    for lang in LANGUAGES:
        assert set(catalog(lang)) == keys, lang
        for entry in catalog(lang).values():
            forms = entry.values() if isinstance(entry, dict) else [entry]
            assert all(text.strip() for text in forms)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_form_is_in_the_chosen_language(client: TestClient, lang: str) -> None:
    html = client.get(f"/{lang}/").text
    assert f'<html lang="{lang}">' in html
    for key in ["report.title", "report.place", "report.submit", "exit.button", "category.robbery"]:
        assert catalog(lang)[key] in html


def test_unknown_language_is_a_404_page(client: TestClient) -> None:
    response = client.get("/de/", headers={"accept-language": "nl"})
    assert response.status_code == 404
    assert catalog("nl")["error.page_not_found"] in response.text


# ---- the form page ----------------------------------------------------------------------


def test_every_public_page_has_the_protective_headers(client: TestClient) -> None:
    for path in ["/en/", "/nl/status", "/es/report"]:
        response = client.get(path)
        headers = response.headers
        assert headers["cache-control"] == "no-store"
        assert headers["referrer-policy"] == "no-referrer"
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert "http" not in csp
        assert "set-cookie" not in headers
        assert 'id="quick-exit"' in response.text


def test_the_form_page_is_small_and_self_contained(client: TestClient) -> None:
    response = client.get("/en/")
    assert len(response.content) <= 60 * 1024
    resources = Page(response.text).resources
    # Nothing fetched (no scripts, styles, fonts) but the install manifest, which a browser
    # reads only to offer installing the site as an app (app/install.py).
    assert [r for r in resources if not r.startswith("data:")] == ["/manifest.webmanifest"], (
        "nothing fetched: no scripts, styles, fonts"
    )
    assert "@font-face" not in response.text


def test_every_field_has_a_label(client: TestClient) -> None:
    page = Page(client.get("/es/").text)
    assert page.controls, "the form has fields"
    for control in page.controls:
        assert control.get("id") in page.label_for, control
    assert len(page.wrapped) == 11 + 4 + 3, (
        "categories, times of day, the three police choices sit in labels"
    )


def test_the_form_saves_nothing_in_the_browser(client: TestClient) -> None:
    html = client.get("/en/").text
    assert 'autocomplete="off"' in html
    assert "localStorage" not in (ROOT / "app/static/site.js").read_text()


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_colours_meet_wcag_aa_contrast() -> None:
    css = (ROOT / "app/static/site.css").read_text()
    colours = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    text_pairs = [
        ("fg", "bg"), ("muted", "bg"), ("muted", "panel"), ("accent", "bg"), ("accent", "panel"),
        ("accent-fg", "accent"), ("exit-fg", "exit"), ("error", "bg"), ("error", "panel"),
        ("fg", "error-bg"), ("ok-fg", "ok-bg"),
    ]  # fmt: skip
    for fg, bg in text_pairs:
        assert _contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg)
    assert _contrast(colours["line"], colours["bg"]) >= 3, "input borders (WCAG 1.4.11)"


# ---- submitting through the form ------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_submitting_the_form_shows_the_receipt(
    client: TestClient, session: Session, crypto: Crypto, lang: str
) -> None:
    response = post_form(client, lang, place="Súdwest Fryslân")
    assert response.status_code == 200
    assert catalog(lang)["receipt.title"] in response.text
    code = receipt_code(response.text)
    report = service.find_by_receipt(session, crypto=crypto, receipt_code=code)
    assert (report.region_code, report.language) == ("GM1900", lang)
    assert set(report.categories) == {"physical_violence", "robbery"}
    assert code not in "".join(re.findall(r'href="([^"]*)"', response.text))


def test_a_town_name_finds_its_municipality(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    for typed, code in [("Spijkenisse (Nissewaard)", "GM1930"), ("den haag", "GM0518")]:
        page = post_form(client, place=typed).text
        report = service.find_by_receipt(session, crypto=crypto, receipt_code=receipt_code(page))
        assert report.region_code == code


def test_errors_appear_next_to_the_fields_in_the_language_with_the_input_kept(
    client: TestClient, session: Session
) -> None:
    before = session.exec(select(func.count()).select_from(Report)).one()
    response = post_form(
        client,
        "nl",
        phones="06 12345678, 0612",
        categories=[],
        what_happened="Mijn verhaal blijft staan.",
        part_of_day="",
    )
    assert response.status_code == 422
    html = response.text
    nl = catalog("nl")
    assert nl["error.summary"] in html
    wrong_number = translate("nl", "error.invalid_phone_n", n=2, **phone_examples("NL"))
    assert f'<p class="error" id="phones-error">{wrong_number}</p>' in html
    assert f'<p class="error" id="categories-error">{nl["error.categories"]}</p>' in html
    assert f'<p class="error" id="part_of_day-error">{nl["error.part_of_day"]}</p>' in html
    assert 'value="06 12345678, 0612"' in html
    assert "Mijn verhaal blijft staan." in html
    assert 'aria-invalid="true"' in html
    assert session.exec(select(func.count()).select_from(Report)).one() == before


@pytest.mark.parametrize(
    ("overrides", "field", "key"),
    [
        ({"place": "Atlantis"}, "place", "error.place_unknown"),
        ({"place": ""}, "place", "error.required"),
        ({"incident_date": ""}, "incident_date", "error.date_invalid"),
        ({"incident_date": "2099-12-31"}, "incident_date", "error.date_in_future"),
        ({"what_happened": "x" * 5001}, "what_happened", "error.too_long"),
        ({"phones": "12"}, "phones", "error.invalid_phone"),
        ({"emails": "a@"}, "emails", "error.invalid_email"),
        ({"phones": ",".join(["0612345678"] * 11)}, "phones", "error.too_many"),
    ],
)
def test_each_form_error_is_explained(
    client: TestClient, overrides: dict[str, Any], field: str, key: str
) -> None:
    response = post_form(client, "es", **overrides)
    assert response.status_code == 422
    message = catalog("es")[key].split("{")[0]
    assert re.search(f'id="{field}-error">{re.escape(message)}', response.text), response.text[:200]


def test_an_ambiguous_town_lists_the_choices(client: TestClient) -> None:
    html = post_form(client, place="Bergen").text
    assert "Bergen (L.)" in html
    assert "Bergen (NH.)" in html


def test_a_double_submit_files_one_report(client: TestClient, session: Session) -> None:
    token = "one-time-token-for-this-test"
    first = post_form(client, form_token=token)
    assert first.status_code == 200
    count = session.exec(select(func.count()).select_from(Report)).one()
    second = post_form(client, form_token=token)
    assert second.status_code == 409
    assert catalog("en")["already.title"] in second.text
    assert session.exec(select(func.count()).select_from(Report)).one() == count


def test_form_posts_are_rate_limited(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings]
) -> None:
    with make_client(make_settings(rate_limit_submit="1/minute")) as client:
        assert post_form(client).status_code == 200
        limited = post_form(client, "nl")
    assert limited.status_code == 429
    assert catalog("nl")["error.rate_limited"] in limited.text


def test_an_oversized_form_gets_a_page_not_json(client: TestClient) -> None:
    response = post_form(client, "es", what_happened="x" * 70_000)
    assert response.status_code == 413
    assert catalog("es")["error.too_large"] in response.text


# ---- the status page -----------------------------------------------------------------------


def test_status_page_with_a_question_an_answer_and_withdrawal(
    client: TestClient, session: Session, crypto: Crypto
) -> None:
    code = receipt_code(post_form(client).text)
    lookup = client.post("/en/status", data={"receipt_code": code.lower().replace("-", " ")})
    assert lookup.status_code == 200
    assert catalog("en")["status.state.submitted"] in lookup.text

    report = service.find_by_receipt(session, crypto=crypto, receipt_code=code)
    service.transition(report, ReportStatus.in_review)
    service.ask_reporter(session, report=report, question="Was it a hotel?", cipher=crypto.cipher)
    session.commit()

    asked = client.post("/nl/status", data={"receipt_code": code}).text
    assert "Was it a hotel?" in asked
    assert catalog("nl")["status.state.needs_info"] in asked
    empty = client.post("/nl/status/reply", data={"receipt_code": code, "message": "  "})
    assert empty.status_code == 422
    assert catalog("nl")["error.reply_empty"] in empty.text
    replied = client.post("/nl/status/reply", data={"receipt_code": code, "message": "Ja"})
    assert catalog("nl")["status.reply_sent"] in replied.text
    assert catalog("nl")["status.answered"] in replied.text

    unconfirmed = client.post("/es/status/withdraw", data={"receipt_code": code})
    assert catalog("es")["error.confirm_withdraw"] in unconfirmed.text
    withdrawn = client.post("/es/status/withdraw", data={"receipt_code": code, "confirm": "yes"})
    assert catalog("es")["status.withdrawn_done"] in withdrawn.text
    assert 'data-status="withdrawn"' in withdrawn.text
    session.expire_all()
    assert (
        service.find_by_receipt(session, crypto=crypto, receipt_code=code).what_happened_enc is None
    )


def test_a_wrong_code_on_the_status_page(client: TestClient) -> None:
    response = client.post("/es/status", data={"receipt_code": "AAAA-BBBB-CCCC"})
    assert response.status_code == 404
    assert catalog("es")["error.receipt_not_found"] in response.text
    assert 'value="AAAA-BBBB-CCCC"' in response.text, "what was typed is kept"
