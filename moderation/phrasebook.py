"""The phrase book: common sentences of alerts ("About 40.", "Bald.", "Drives a grey car.",
"Asks for sex without a condom.") in every language, so that a moderator who wrote an
alert in one language can fill the others in (moderation/data/phrasebook.json)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel

from app.i18n import LANGUAGES
from app.reports.models import Language
from moderation.schemas import Phrase

PHRASEBOOK = Path(__file__).parent / "data" / "phrasebook.json"


class PhrasebookFile(BaseModel):
    review: str
    phrases: dict[str, dict[Language, str]]


@cache
def phrases() -> list[Phrase]:
    """Every phrase, in the file's order, with its sentence in each of the nine languages."""
    book = PhrasebookFile.model_validate_json(PHRASEBOOK.read_text(encoding="utf-8"))
    found = []
    for key, texts in book.phrases.items():
        missing = [lang for lang in LANGUAGES if not texts.get(Language(lang), "").strip()]
        if missing:
            raise ValueError(f"{PHRASEBOOK}: phrase {key} has no sentence in {', '.join(missing)}")
        found.append(Phrase(key=key, texts={lang: texts[Language(lang)] for lang in LANGUAGES}))
    return found
