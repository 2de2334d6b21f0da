"""Every catalogue in app/locales has every key the others have, the same placeholders, and
CLDR's plural forms for its language (Babel); each says who must review it."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from babel import Locale

from alerts.subscriptions.commands import EVERY_LANGUAGE
from app.regions.service import fold

LOCALES = resources.files("app") / "locales"
FILES = sorted(p.name[:-5] for p in LOCALES.iterdir() if p.name.endswith(".json"))
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def load(lang: str) -> dict[str, object]:
    return json.loads((LOCALES / f"{lang}.json").read_text("utf-8"))  # type: ignore[no-any-return]


def placeholders(entry: object) -> set[str]:
    texts = entry.values() if isinstance(entry, dict) else [entry]
    return {name for text in texts for name in PLACEHOLDER.findall(str(text))}


def test_there_are_nine_catalogues() -> None:
    assert FILES == ["bg", "en", "es", "hu", "nl", "pl", "pt", "ro", "th"]


@pytest.mark.parametrize("lang", FILES)
def test_a_catalogue_has_every_key_and_the_same_placeholders(lang: str) -> None:
    source, catalogue = load("en"), load(lang)
    assert sorted(set(source) - set(catalogue)) == [], "missing"
    assert sorted(set(catalogue) - set(source)) == [], "not in the others"
    different = [
        key for key, entry in source.items() if placeholders(catalogue[key]) != placeholders(entry)
    ]
    assert different == []


@pytest.mark.parametrize("lang", FILES)
def test_plurals_have_cldrs_forms_for_the_language(lang: str) -> None:
    """Only CLDR's categories for the language, always "other" (a category left out, such as
    Spanish "many" for millions, takes "other"), and "one" wherever the language has it."""
    cldr = set(Locale.parse(lang).plural_form.tags) | {"other"}
    needed = {"other"} | ({"one"} & cldr)
    wrong = {
        key: sorted(entry)
        for key, entry in load(lang).items()
        if isinstance(entry, dict) and not needed <= set(entry) <= cldr
    }
    assert wrong == {}


@pytest.mark.parametrize("lang", FILES)
def test_each_catalogue_says_whether_a_native_speaker_must_review_it(lang: str) -> None:
    review = str(load(lang)["review"])
    if lang == "en":
        assert "source" in review
    else:
        assert "review by a native speaker" in review


def test_the_words_people_text_belong_to_one_language_each() -> None:
    """A command word two languages share would answer in the wrong language; words are
    compared as typed ones are read (folded: no case, accents or Thai marks)."""
    seen: dict[str, str] = {}
    clashes = []
    for lang in FILES:
        catalogue = load(lang)
        for key in [k for k in catalogue if k.startswith("sms.words.")]:
            for word in [fold(w).upper() for w in str(catalogue[key]).split()]:
                if word in EVERY_LANGUAGE:  # STOP, CHECK...: every language's, on purpose
                    continue
                if word in seen and seen[word] != lang:
                    clashes.append((word, seen[word], lang))
                seen.setdefault(word, lang)
    assert clashes == []


def test_the_readme_lists_every_sms_keyword_of_every_language() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text("utf-8")
    table = readme.split("### SMS keywords", 1)[1].split("\n## ", 1)[0]
    missing = [
        (lang, word)
        for lang in FILES
        for key, entry in load(lang).items()
        if key.startswith("sms.words.") or key == "language.words"
        for word in str(entry).split()
        if f"`{word}`" not in table
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("accept", "lang"),
    [
        ("ro-RO,ro;q=0.9,en;q=0.8", "ro"),
        ("bg", "bg"),
        ("th-TH", "th"),
        ("pt-BR,pt;q=0.9", "pt"),
        ("de-DE,de;q=0.9,pl;q=0.5", "pl"),
        ("de-DE", "en"),
    ],
)
def test_the_browsers_language_picks_the_pages(client: Any, accept: str, lang: str) -> None:
    response = client.get("/", headers={"Accept-Language": accept}, follow_redirects=False)
    assert response.headers["location"] == f"/{lang}/"
    page = client.get(f"/{lang}/")
    assert f'<html lang="{lang}">' in page.text
    assert str(load(lang)["report.title"]) in page.text
