"""Translations for the public pages (NL, EN, ES), one JSON catalogue per language.

The language is part of every public URL (/nl/, /en/, /es/), so no cookie is needed
to remember it; `/` picks one from the browser's Accept-Language.

A catalogue entry is a text, or (for a text with a `count`) one text per CLDR plural
category of its language ("one", "other", ...), chosen by Babel's plural rules. Dates are
Babel's long format for the language ("30 de noviembre de 2026"). `{site}` in any text is
the deployment's name (REDFLAG_SITE_NAME), set once at start-up by `use_site_name`.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib import resources

import phonenumbers
from babel import Locale
from babel.dates import format_date
from babel.lists import format_list

# Every language a page, a message and an SMS command can be in: a catalogue each in
# app/locales (tests/test_catalogues.py). Only nl, en and es have been read by people who
# speak them; the others say so in their "review" entry.
LANGUAGES = ("nl", "en", "es", "ro", "bg", "hu", "pl", "pt", "th")
FALLBACK = "en"
DEFAULT_SITE_NAME = "redflag"

Entry = str | dict[str, str]
_site = {"name": DEFAULT_SITE_NAME}


def use_site_name(name: str) -> None:
    """The deployment's name, for `{site}` in every text (pages, SMS, email)."""
    _site["name"] = name


def site_name() -> str:
    return _site["name"]


@cache
def catalog(lang: str) -> dict[str, Entry]:
    text = (resources.files("app") / "locales" / f"{lang}.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return,unused-ignore]


# Each language's name in itself, for the language selector.
LANGUAGE_NAMES = {lang: str(catalog(lang)["language.name"]) for lang in LANGUAGES}


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def plural_category(lang: str, count: int) -> str:
    """CLDR's plural category of `count` in `lang` ("one", "few", "other", ...)."""
    return _locale(lang).plural_form(count)


def translate(lang: str, key: str, **values: object) -> str:
    entry = catalog(lang).get(key) or catalog(FALLBACK)[key]
    if isinstance(entry, dict):
        count = values.get("count")
        if not isinstance(count, int):
            raise TypeError(f"{key} has plural forms: it needs an integer count")
        entry = entry.get(plural_category(lang, count)) or entry["other"]
    return entry.format_map(_Values(site=_site["name"], **values))


class _Values(dict[str, object]):
    """A placeholder without a value stays as written, as it did before `{site}` was in
    every text, rather than failing a whole page."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def format_long_date(lang: str, value: date) -> str:
    return format_date(value, format="long", locale=_locale(lang))


def phone_examples(country: str) -> dict[str, str]:
    """How a phone number is written, for error messages: a mobile number of the
    deployment's country as dialled there, and one from abroad with its country code."""
    foreign = "RO" if country.upper() != "RO" else "NL"
    mobile = phonenumbers.PhoneNumberType.MOBILE
    home = phonenumbers.example_number_for_type(country.upper(), mobile)
    abroad = phonenumbers.example_number_for_type(foreign, mobile)
    assert abroad is not None  # libphonenumber has examples for both
    foreign_example = phonenumbers.format_number(
        abroad, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return {
        "example": (
            phonenumbers.format_number(home, phonenumbers.PhoneNumberFormat.NATIONAL)
            if home
            else foreign_example
        ),
        "foreign": foreign_example,
    }


class Translator:
    """`_("key", name=value)` in templates and page code, bound to one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)

    def date(self, value: date) -> str:
        return format_long_date(self.lang, value)

    def either(self, names: list[str]) -> str:
        """ "Assen or Aalten", in the language's words."""
        return format_list(names, style="or", locale=_locale(self.lang))


def negotiate(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header, by quality."""
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else FALLBACK
