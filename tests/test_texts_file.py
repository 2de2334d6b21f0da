"""A deployment's own texts (REDFLAG_TEXTS_FILE): any text replaced without editing code,
on pages and in messages, and a file with mistakes refused at start, each one named."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alerts.render import AlertView, render_sms
from app import i18n
from app.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def catalogues_only_afterwards() -> Iterator[None]:
    yield
    i18n.use_texts({})  # the texts are the process's, as the site name is


def write(tmp_path: Path, texts: object) -> Path:
    path = tmp_path / "texts.json"
    path.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    return path


VIEW = AlertView(
    ref="A7K2",
    severity="high",
    text="Lang, kaal.",
    region_names=["Assen"],
    categories=["physical_violence"],
    incident_date=date(2026, 11, 28),
)


def test_a_deployments_texts_replace_the_catalogues_on_pages_and_in_sms(
    tmp_path: Path, make_settings: Callable[..., Settings], make_client: Any
) -> None:
    texts = {
        "nl": {
            "report.title": "Meld een klant bij Project Assen",
            "sms.footer": "Vragen? Bel Project Assen. Ref {ref}",
        },
        "ro": {"report.title": "Raportează un client la Project Assen"},
    }
    settings = make_settings(database_url="sqlite://", texts_file=write(tmp_path, texts))
    client: TestClient
    with make_client(settings) as client:
        assert "Meld een klant bij Project Assen" in client.get("/nl/report").text
        assert "Raportează un client la Project Assen" in client.get("/ro/report").text
        english = client.get("/en/report").text
        assert "Report a dangerous client" in english, "a language not in the file keeps its own"
        sms = render_sms(VIEW, "nl", masking="partial")
        assert sms.endswith("Vragen? Bel Project Assen. Ref A7K2")
        assert "Project Assen" not in render_sms(VIEW, "es", masking="partial")


def test_without_a_file_the_catalogues_are_used_again(
    tmp_path: Path, make_settings: Callable[..., Settings], make_client: Any
) -> None:
    path = write(tmp_path, {"nl": {"report.title": "Eigen titel"}})
    with make_client(make_settings(database_url="sqlite://", texts_file=path)) as client:
        assert "Eigen titel" in client.get("/nl/report").text
    with make_client(make_settings(database_url="sqlite://")) as client:
        assert "Eigen titel" not in client.get("/nl/report").text


def test_plural_texts_take_the_languages_forms(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "pl": {
                "check.reports": {
                    "one": "{count} zgł.",
                    "few": "{count} zgł-y",
                    "many": "{count} zgł-ń",
                    "other": "{count} zgł.",
                }
            }
        },
    )
    i18n.use_texts(i18n.read_texts(path))
    assert i18n.translate("pl", "check.reports", count=3) == "3 zgł-y"
    assert i18n.translate("pl", "check.reports", count=5) == "5 zgł-ń"


@pytest.mark.parametrize(
    ("texts", "problem"),
    [
        ({"xx": {"report.title": "T"}}, "'xx' is not a language of this service"),
        ({"nl": {"report.titel": "T"}}, "nl.report.titel: not a text of the catalogues"),
        (
            {"nl": {"sms.footer": "Bel ons"}},
            "nl.sms.footer: must have the catalogue's placeholders ({ref};",
        ),
        (
            {"nl": {"report.title": "Meld {naam}"}},
            "nl.report.title: must have the catalogue's placeholders (none;",
        ),
        ({"nl": {"report.title": "Meld {"}}, "nl.report.title: has a { or } that is not part"),
        # What passes a check of names only, and fails every message later: a format spec,
        # a conversion, a nested field, a huge padding.
        ({"nl": {"sms.footer": "Ref {ref:d}"}}, "nl.sms.footer: a placeholder is only its name"),
        ({"nl": {"sms.footer": "Ref {ref!z}"}}, "nl.sms.footer: a placeholder is only its name"),
        ({"nl": {"sms.footer": "Ref {ref:{ref}}"}}, "nl.sms.footer: a placeholder is only"),
        ({"nl": {"sms.footer": "{ref:>50000000}"}}, "nl.sms.footer: a placeholder is only"),
        ({"nl": {"sms.footer": "Ref {ref.x}"}}, "nl.sms.footer: a placeholder is only"),
        ({"nl": {"sms.footer": "Ref {}"}}, "nl.sms.footer: a placeholder is only"),
        # A line break in a header (an email's subject) would fail every email at sending.
        ({"nl": {"email.update_subject": "Nieuws\nover {ref}"}}, "has a control character"),
        ({"nl": {"push.title.alert": "Nieuw\n"}}, "has a control character"),
        ({"nl": {"sms.footer": "Ref {ref}\x00"}}, "has a control character"),
        ({"nl": {"report.title": "  "}}, "nl.report.title: expected a text that is not empty"),
        ({"nl": {"check.reports": "{count} meldingen"}}, "nl.check.reports: needs plural forms"),
        (
            {"nl": {"check.reports": {"few": "{count}", "other": "{count}"}}},
            "nl.check.reports: needs plural forms",
        ),
        ({"th": {"sms.words.stop": "STOP"}}, "th.sms.words.stop: a word list read at start"),
        ({"nl": {"language.name": "Hollands"}}, "nl.language.name: a word list read at start"),
        ({"nl": ["report.title"]}, "nl: expected an object of keys and texts"),
        (["nl"], "expected an object of languages"),
    ],
)
def test_a_file_with_mistakes_is_refused_at_start_naming_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, texts: object, problem: str
) -> None:
    monkeypatch.setenv("REDFLAG_TEXTS_FILE", str(write(tmp_path, texts)))
    monkeypatch.setenv("REDFLAG_SECRETS_FILE", str(tmp_path / "dev.env"))
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "REDFLAG_TEXTS_FILE" in str(info.value)
    assert problem in str(info.value)


def test_site_may_be_left_out_and_a_text_may_have_several_lines(tmp_path: Path) -> None:
    """A deployment may want a more discreet text than its name; a body may have lines."""
    shipped = str(i18n.catalog("en")["sub.link_body"])
    assert "{site}" in shipped and "\n" in shipped
    texts = {"en": {"sub.link_body": shipped.replace("{site} ", "")}}
    assert i18n.read_texts(write(tmp_path, texts)) == texts


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, {"nl": {"report.titel": "T", "sms.footer": "x"}, "xx": {}})
    with pytest.raises(i18n.TextsFileError) as info:
        i18n.read_texts(path)
    assert "report.titel" in str(info.value)
    assert "sms.footer" in str(info.value)
    assert "'xx'" in str(info.value)


def test_a_file_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "texts.json"
    path.write_text("{nl: }", encoding="utf-8")
    with pytest.raises(i18n.TextsFileError, match="cannot be read as JSON"):
        i18n.read_texts(path)
    with pytest.raises(i18n.TextsFileError, match="cannot be read as JSON"):
        i18n.read_texts(tmp_path / "missing.json")
