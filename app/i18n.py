"""Translations for the public pages (NL, EN, ES), one JSON catalogue per language.

The language is part of every public URL (/nl/, /en/, /es/), so no cookie is needed
to remember it; `/` picks one from the browser's Accept-Language.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from importlib import resources

LANGUAGES = ("nl", "en", "es")
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English", "es": "Español"}
FALLBACK = "en"


@cache
def catalog(lang: str) -> dict[str, str]:
    text = (resources.files("app") / "locales" / f"{lang}.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return,unused-ignore]


def translate(lang: str, key: str, **values: object) -> str:
    text = catalog(lang).get(key) or catalog(FALLBACK)[key]
    return text.format(**values) if values else text


class Translator:
    """`_("key", name=value)` in templates and page code, bound to one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)

    def date(self, value: date) -> str:
        return f"{value.day} {self(f'month.{value.month}')} {value.year}"


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
