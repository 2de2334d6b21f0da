"""Redaction help: spans of a report's text that look like someone's own details.

Reporters write in a hurry and often put in their own number, the hotel, their name.
These spans are flagged for the moderator, who decides; nothing is removed
automatically. A phone number or email that is one of the reported person's
identifiers is marked as such: that one probably belongs in the alert.

The patterns read the text as app.text.clean leaves it, so a zero-width space or a soft
hyphen inside an address does not hide it; the spans are positions in the text as given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import phonenumbers

from app.identifiers import InvalidIdentifier, normalise_email, normalise_phone
from app.text import clean, readable


@dataclass(frozen=True)
class Flag:
    start: int
    end: int
    kind: str  # phone, email, url, address, postcode, name
    text: str
    reported_identifier: bool = False


# What a phone shows as a link: one written as such, or a bare domain (bit.ly/x, example.nl)
# that is not part of an email address.
_LINK = re.compile(
    r"\b(?i:https?://|www\.)|(?<![\w@.-])(?:[\w-]+\.)+(?:[a-z]{2,}|[A-Z]{2,})\b(?![.-]?\w|@)"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"(?:\b(?:https?://|www\.)|\b[\w-]+\.(?:nl|com|org|net|eu|be|es|uk|de)/)[^\s<>\"]*[^\s<>\".,;:!?)]",
    re.IGNORECASE,
)
_STREET_WORDS = (
    "straat|weg|laan|plein|gracht|kade|singel|dijk|pad|steeg|hof|dreef|park|markt|"
    "street|road|avenue|lane|square|calle|avenida|plaza|paseo"
)
_ADDRESS = re.compile(
    rf"\b[A-ZÀ-Ý][\w'-]*(?:{_STREET_WORDS})\s+\d+\s?[a-zA-Z]?\b"  # Kerkstraat 12a
    rf"|\b\d+\s+[A-Z][\w'-]+\s+(?:{_STREET_WORDS})\b"  # 12 Baker Street
    rf"|\b(?:calle|avenida|plaza|paseo)\s+[\wÀ-ÿ' -]{{2,30}}?,?\s*\d+\b",  # calle Mayor 5
    re.IGNORECASE,
)
_POSTCODE = re.compile(r"\b[1-9]\d{3}\s?(?!SA|SD|SS)[A-Z]{2}\b")  # Dutch postcode
# Only the introducing phrase ignores case: the name itself must start with a capital.
_NAME_INTRO = re.compile(
    r"\b(?i:my name is|i am called|i'm called|ik heet|mijn naam is|me llamo|mi nombre es)\s+"
    r"((?:[A-ZÀ-Ý][\w'-]+)(?:\s+[A-ZÀ-Ý][\w'-]+){0,2})"
)


def flag(text: str, *, default_region: str, reported: set[tuple[str, str]]) -> list[Flag]:
    """Every span worth a second look, in text order, without overlaps."""
    plain, starts, ends = _plain(text)
    found: list[Flag] = []
    for number in phonenumbers.PhoneNumberMatcher(
        plain, default_region, leniency=phonenumbers.Leniency.POSSIBLE
    ):
        found.append(
            _identifier_flag("phone", number.start, number.end, plain, default_region, reported)
        )
    for email in _EMAIL.finditer(plain):
        found.append(
            _identifier_flag("email", email.start(), email.end(), plain, default_region, reported)
        )
    for kind, pattern in (("url", _URL), ("address", _ADDRESS), ("postcode", _POSTCODE)):
        found.extend(Flag(m.start(), m.end(), kind, m.group()) for m in pattern.finditer(plain))
    found.extend(
        Flag(m.start(1), m.end(1), "name", m.group(1)) for m in _NAME_INTRO.finditer(plain)
    )
    return [
        Flag(
            start=(start := starts[f.start]),
            end=(end := ends[f.end - 1]),
            kind=f.kind,
            text=text[start:end],
            reported_identifier=f.reported_identifier,
        )
        for f in _without_overlaps(found)
    ]


def has_link(text: str) -> bool:
    """Whether subscribers' phones would show a link in this text (the composer warns)."""
    return _LINK.search(clean(text)) is not None


def _plain(text: str) -> tuple[str, list[int], list[int]]:
    """The text as app.text.clean leaves it, and where each of its characters starts and
    ends in `text`."""
    plain: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for piece, start, end in readable(text):
        plain.append(piece)
        starts.extend([start] * len(piece))
        ends.extend([end] * len(piece))
    return "".join(plain), starts, ends


def _identifier_flag(
    kind: str, start: int, end: int, text: str, region: str, reported: set[tuple[str, str]]
) -> Flag:
    raw = text[start:end]
    try:
        value = normalise_phone(raw, region) if kind == "phone" else normalise_email(raw)
    except InvalidIdentifier:
        value = None
    return Flag(
        start, end, kind, raw, reported_identifier=(kind, value) in reported if value else False
    )


def _without_overlaps(flags: list[Flag]) -> list[Flag]:
    result: list[Flag] = []
    for f in sorted(flags, key=lambda f: (f.start, -(f.end - f.start))):
        if result and f.start < result[-1].end:
            continue  # the longer span starting first wins (an email contains a URL-ish part)
        result.append(f)
    return result


class Span(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


S = TypeVar("S", bound=Span)


def segments(text: str, flags: Sequence[S]) -> list[tuple[str, S | None]]:
    """The text cut into plain and flagged pieces, for highlighting."""
    pieces: list[tuple[str, S | None]] = []
    position = 0
    for f in flags:
        if f.start > position:
            pieces.append((text[position : f.start], None))
        pieces.append((text[f.start : f.end], f))
        position = f.end
    if position < len(text):
        pieces.append((text[position:], None))
    return pieces


# Plain dots, not an ellipsis character: one character outside GSM-7 halves an SMS.
REMOVED = "[...]"


def suggested_text(text: str, flags: list[Flag]) -> str:
    """A first draft for the alert: the flagged spans left out, unless they are the client's."""
    return clean(
        "".join(
            piece if f is None or f.reported_identifier else REMOVED
            for piece, f in segments(text, flags)
        )
    )
