"""Translations for the public pages, SMS and email: one JSON catalogue per language.

The language is part of every public URL (/nl/, /ro/, /th/...), so no cookie is needed
to remember it; `/` picks one from the browser's Accept-Language.

A deployment can replace any text without editing code: REDFLAG_TEXTS_FILE names a JSON
file of `{"nl": {"key": "text", ...}, ...}`, read and checked at start (`read_texts`), and
put in front of the catalogues by `use_texts`. Word lists read once at start (the SMS
keywords, the redaction cues, the language names) are data, not texts, and stay the
catalogues'.

A catalogue entry is a text, or (for a text with a `count`) one text per CLDR plural
category of its language ("one", "other", ...), chosen by Babel's plural rules. Dates are
Babel's long format for the language ("30 de noviembre de 2026"). `{site}` in any text is
the deployment's name (REDFLAG_SITE_NAME), set once at start-up by `use_site_name`.
"""

from __future__ import annotations

import json
import re
import string
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path

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
_texts: dict[str, dict[str, Entry]] = {}  # the deployment's own texts, by language and key


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
    entry = (
        _texts.get(lang, {}).get(key)
        or catalog(lang).get(key)
        or _texts.get(FALLBACK, {}).get(key)
        or catalog(FALLBACK)[key]
    )
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


# ---- a deployment's own texts ----------------------------------------------------------------

# Read once at start as word lists (app.regions, alerts.subscriptions.commands,
# moderation.redaction) or as the language selector's names: a texts file cannot change them.
DATA_KEYS = ("review", "language.", "sms.words.", "redaction.", "subscribe.province_word")


class TextsFileError(ValueError):
    pass


def use_texts(texts: dict[str, dict[str, Entry]]) -> None:
    """The deployment's texts (from `read_texts`), in front of the catalogues; {} for none."""
    _texts.clear()
    _texts.update(texts)


def read_texts(path: Path | None) -> dict[str, dict[str, Entry]]:
    """REDFLAG_TEXTS_FILE, checked: a known language, a text the catalogues have, the same
    placeholders as the catalogue's (a `{ref}` left out would drop an alert's reference, a
    new one would be shown as typed), and plural forms where the catalogue has them. Every
    problem is named; none is half-applied."""
    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TextsFileError(f"{path} cannot be read as JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise TextsFileError(f'{path}: expected an object of languages, e.g. {{"nl": {{...}}}}')
    problems = [
        problem for lang, texts in raw.items() for problem in _language_problems(str(lang), texts)
    ]
    if problems:
        raise TextsFileError(f"{path}: " + "; ".join(problems))
    return raw


def _language_problems(lang: str, texts: object) -> list[str]:
    if lang not in LANGUAGES:
        return [f"{lang!r} is not a language of this service ({', '.join(LANGUAGES)})"]
    if not isinstance(texts, dict):
        return [f"{lang}: expected an object of keys and texts"]
    return [
        f"{lang}.{key}: {problem}"
        for key, entry in texts.items()
        if (problem := _text_problem(lang, key, entry))
    ]


def _text_problem(lang: str, key: str, entry: object) -> str | None:
    shipped = catalog(lang).get(key)
    if shipped is None:
        return "not a text of the catalogues (keys are listed in app/locales/en.json)"
    if key.startswith(DATA_KEYS):
        return "a word list read at start, not a text; it cannot be replaced from a file"
    if isinstance(shipped, dict):
        forms = set(_locale(lang).plural_form.tags) | {"other"}
        if not isinstance(entry, dict) or "other" not in entry or not set(entry) <= forms:
            return (
                f"needs plural forms: an object with {', '.join(sorted(forms))} ('other' at least)"
            )
        texts = list(entry.values())
    else:
        texts = [entry]
    if not all(isinstance(t, str) and t.strip() for t in texts):
        return "expected a text that is not empty"
    if any(_BREAKING.search(t) for t in texts) or (
        key.endswith(ONE_LINE) and any("\n" in t for t in texts)
    ):
        return "has a control character (a line break only in a text of several lines)"
    fields = _fields(texts)
    if fields is None:
        return "has a { or } that is not part of a placeholder (write {{ or }} for one)"
    if any(spec or conversion or not name.isidentifier() for name, spec, conversion in fields):
        return "a placeholder is only its name in braces, such as {ref}"
    wanted, found = _placeholders(shipped), {name for name, _, _ in fields}
    # {site} may be left out: a deployment may want a more discreet text than its name.
    if not found <= wanted or (wanted - found) - {"site"}:
        shown = ", ".join(f"{{{name}}}" for name in sorted(wanted)) or "none"
        return f"must have the catalogue's placeholders ({shown}; {{site}} may be left out)"
    return None


# Texts sent as a header (an email's subject, a notification's title): one line each.
ONE_LINE = ("subject", ".title.alert", ".title.update", ".title.retraction")
_BREAKING = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\u2028\u2029]")


def _fields(texts: list[str]) -> list[tuple[str, str, str]] | None:
    """Each placeholder's (name, format spec, conversion); None for a stray brace."""
    try:
        return [
            (name, spec or "", conversion or "")
            for text in texts
            for _, name, spec, conversion in string.Formatter().parse(text)
            if name is not None
        ]
    except ValueError:
        return None


def _placeholders(entry: object) -> set[str]:
    texts = entry.values() if isinstance(entry, dict) else [entry]
    return {name for name, _, _ in _fields([str(t) for t in texts]) or []}


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
