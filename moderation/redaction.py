"""Redaction help: spans of a report's text that look like someone's own details.

Reporters write in a hurry and often put in their own number, the hotel, their name,
a colleague's name, their window or their ad. These spans are flagged for the moderator,
who decides; nothing is removed automatically. A phone number, email, handle or ad link
that is one of the reported person's identifiers is marked as such: that one probably
belongs in the alert.

The patterns read the text as app.text.clean leaves it, so a zero-width space or a soft
hyphen inside an address does not hide it; the spans are positions in the text as given.
The patterns below read Dutch, English and Spanish closely; the other languages'
self-introductions and workplace words come from their catalogues (`redaction.self_intro`,
`redaction.workplace`, `_cues`). First names come from a published list
(moderation/data/first_names.txt, its source and licence in the README beside it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Protocol, TypeVar

import phonenumbers

from app.i18n import LANGUAGES, catalog
from app.identifiers import InvalidIdentifier, normalise_email, normalise_handle, normalise_phone
from app.regions import service as regions_service
from app.text import clean, readable

KINDS = ("phone", "email", "url", "handle", "address", "postcode", "name", "workplace")


@dataclass(frozen=True)
class Flag:
    start: int
    end: int
    kind: str  # one of KINDS
    text: str
    reported_identifier: bool = False


# What a phone shows as a link: one written as such, or a bare domain (bit.ly/x, example.nl)
# that is not part of an email address.
_LINK = re.compile(
    r"\b(?i:https?://|www\.)|(?<![\w@.-])(?:[\w-]+\.)+(?:[a-z]{2,}|[A-Z]{2,})\b(?![.-]?\w|@)"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"(?:\b(?:https?://|www\.)|\b[\w-]+\.(?:nl|com|org|net|eu|be|es|uk|de|ro|bg)/)[^\s<>\"]*"
    r"[^\s<>\".,;:!?)]",
    re.IGNORECASE,
)
# @name on Instagram, X, OnlyFans...; dots inside ("@ana.escort.nl"), not at the end.
_HANDLE = re.compile(r"(?<![\w.@/])@\w(?:[\w.]*\w)?")

_CAP = r"[A-ZÀ-ÖØ-Þ]"  # a capital letter, accented ones too
_WORD = r"[\w'’-]"
# Dutch street names are one word ending in one of these (Stationsstraat, Oudekerksplein),
# after up to two words that often start one (Van Woustraat, Oudezijds Achterburgwal).
_STREET_ENDINGS = (
    "straat|weg|laan|plein|gracht|kade|singel|dijk|wal|pad|steeg|hof|dreef|markt|park|"
    "plantsoen|baan|haven|veld|boulevard|dam(?=\\s*\\d)"
)
_STREET_START = (
    r"(?:(?:Van|Von|De|Den|Der|Sint|St\.|Eerste|Tweede|Derde|Oude|Nieuwe|Korte|Lange|Hoge|"
    r"Lage|Grote|Kleine|Binnen|Buiten|Oudezijds|Nieuwezijds|Burgemeester|Prins|Prinses|"
    r"Koning|Koningin|Willem|Graaf|Dokter|Dr\.)\s+){0,2}"
)
_HOUSE_NUMBER = r"(?:\s+\d{1,4}(?:\s?[a-zA-Z]\b|-\d+)?)?"
_ADDRESS = re.compile(
    rf"\b{_STREET_START}{_CAP}{_WORD}*?(?:{_STREET_ENDINGS})\b{_HOUSE_NUMBER}"  # Kerkstraat 12a
    rf"|\b(?:Singel|Gracht|Kade|Dijk|Wal|Dam|Markt|Plein)\s+\d{{1,4}}\b"  # Singel 45
    # Damrak 2, 1012 LG: any word and a number before a postcode
    rf"|\b{_CAP}{_WORD}+(?:\s+\d{{1,4}}[a-zA-Z]?)(?=[,.;]?\s+(?:\d{{4}}\s?[A-Z]{{2}}\b))"
    rf"|\b\d+\s+{_CAP}{_WORD}+\s+(?i:street|road|avenue|lane|square|place|drive)\b"  # 12 Baker St
    rf"|\b{_CAP}{_WORD}+\s+(?:Street|Road|Avenue|Lane|Square)\b{_HOUSE_NUMBER}"  # Baker Street
    rf"|\b(?i:calle|c/|avenida|avda\.?|plaza|paseo|carrer|rua)\s+{_WORD}[\wÀ-ÿ' -]{{1,30}}?"
    rf",?\s*\d+\b",  # calle Mayor 5
)
# "aan de Stationsstraat", "in de Vinkenbuurt": a Dutch place word after where-words.
_WHERE = re.compile(
    rf"\b(?i:aan|in|op|bij|naar|langs|achter|voor)\s+(?i:de|het)\s+"
    rf"({_STREET_START}{_CAP}[a-zà-ÿ'’-]+(?:\s+{_CAP}[a-zà-ÿ'’-]+)?)"
)
_POSTCODE = re.compile(r"\b[1-9]\d{3}\s?(?!SA|SD|SS)[A-Z]{2}\b")  # Dutch postcode
# Where someone works: a room, window or number, or a named club, salon or hotel.
_WORKPLACE = re.compile(
    r"\b(?i:kamer|raam|room|window|habitaci[oó]n|ventana|cabina|unit|studio|nr\.?|nummer|"
    r"n[uú]mero)\s+\d{1,4}[a-zA-Z]?\b"
    rf"|\b(?i:club|salon|sal[oó]n|hotel|motel|hostal|hostel|pension|privéhuis|privehuis|"
    rf"bordeel|brothel|burdel|sauna|massagesalon|eroscentrum|erocentrum|parenclub|"
    rf"apartments?|appartementen)\s+{_CAP}{_WORD}*(?:\s+{_CAP}{_WORD}*){{0,2}}"
    rf"|\b{_CAP}{_WORD}*\s+(?:Hotel|Club|Salon|Sauna)\b"
    # Hotel chains in the Netherlands, named without the word "hotel" ("the Hilton Rotterdam").
    rf"|\b(?:Hilton|Marriott|Ibis|Mercure|Novotel|Sheraton|Radisson|Bastion|Fletcher|NH|"
    rf"Holiday Inn|Best Western|Crowne Plaza|Park Inn|Van der Valk|Hampton|Motel One)"
    rf"(?:\s+{_CAP}{_WORD}+)?\b"
    rf"|\b{_CAP}{_WORD}*(?:centrum|center|centre)\s+{_CAP}{_WORD}+"  # Eroscentrum Oost
)

# "ik ben Maria", "my name is Anna", "me llamo Lucía": the name is the next capitalised
# word or two, or a listed first name written in small letters ("soy ana").
_INTRO = re.compile(
    r"\b(?i:ik\s+ben|ik\s+heet|mijn\s+naam\s+is|mijn\s+werknaam\s+is|noem\s+me|groetjes|groet|"
    r"liefs|my\s+name\s+is|my\s+name's|i\s+am\s+called|i\s+am|i'm|i’m|call\s+me|"
    r"they\s+call\s+me|regards|me\s+llamo|mi\s+nombre\s+es|soy|me\s+dicen|me\s+llaman|"
    r"saludos|besos),?\s+"
    rf"({_WORD}+(?:\s+{_CAP}{_WORD}+)?)"
)
# "dit is Bella", "this is Bella" (not "this is Amsterdam").
_THIS_IS = re.compile(rf"\b(?i:dit\s+is|this\s+is|aquí|soy\s+la|habla)\s+({_CAP}{_WORD}+)")
_CAPITALISED = re.compile(rf"(?<![\w'’-]){_CAP}[a-zà-ÿ]+(?:-{_CAP}[a-zà-ÿ]+)?(?![\w-])")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n\"“(]\s*|[-–—]\s+)$")


# The languages the patterns above are written for; the others' cues are their catalogues'.
WRITTEN_FOR = ("nl", "en", "es")
_THAI = "\u0e01-\u0e4e"  # Thai letters, vowels and tone marks (not its digits)
_CAPITAL = r"[A-ZÀ-ÖØ-ÞĀĂĄĆČĎĐĒĘĚĞŁŃŇŐŒŘŚŞŠȘŢȚŤŮŰŹŻŽА-ЯЁ]"  # Latin and Cyrillic capitals
# Thai has no capitals and no spaces between words: a name after "ชื่อ" runs to the next
# space, without the polite word that ends a sentence.
_THAI_ENDINGS = ("ค่ะ", "คะ", "ครับ", "นะ", "จ้ะ", "จ้า")
# "I am": often not a name after it ("jestem sama", I am alone), so only a capitalised one.
_I_AM = frozenset(("sunt", "аз съм", "az sam", "én vagyok", "en vagyok", "jestem", "eu sou"))


@dataclass(frozen=True)
class _Cues:
    intro: re.Pattern[str]  # a self-introduction or sign-off, then the name (group 1)
    workplace: re.Pattern[str]  # a room or window and its number, a club or hotel and its name


@cache
def _cues() -> _Cues:
    """The other languages' cues, from their catalogues: "mă numesc Ioana", "казвам се
    Мария", "ฉันชื่อมาลี"; "camera 12", "клуб Венера", "ห้อง 12"."""

    def phrases(key: str) -> list[str]:
        found = {
            p.strip()
            for lang in LANGUAGES
            if lang not in WRITTEN_FOR
            for p in str(catalog(lang)[key]).split("|")
            if p.strip()
        }
        return sorted(found, key=len, reverse=True)  # the longest phrase first

    def spelled(phrase: str) -> str:
        start = "" if re.match(f"[{_THAI}]", phrase) else r"(?<![\w'’-])"
        return start + r"\s+".join(map(re.escape, phrase.split()))

    def thai(phrase: str) -> bool:
        return re.search(f"[{_THAI}]", phrase) is not None

    intros = phrases("redaction.self_intro")
    spaced = "|".join(spelled(p) for p in intros if not thai(p))
    unspaced = "|".join(spelled(p) for p in intros if thai(p))
    places = phrases("redaction.workplace")
    return _Cues(
        intro=re.compile(
            rf"(?i:{spaced}),?\s+({_WORD}+(?:\s+{_CAPITAL}{_WORD}+)?)"
            rf"|(?:{unspaced})\s*([{_THAI}]{{1,20}})"
        ),
        workplace=re.compile(
            rf"(?i:{'|'.join(spelled(p) for p in places)})"
            rf"(?:\s*(?:nr\.?\s*|№\s*)?\d{{1,4}}[a-zA-Z]?\b|\s+{_CAPITAL}{_WORD}*(?:\s+{_CAPITAL}{_WORD}*){{0,2}})"
        ),
    )


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Names on the list that are more often words: never names (months, car makes, God)...
_NEVER_NAMES = _words(
    "April May June July August Julio Domingo Mercedes Audi Ford Opel Seat Skoda Kia Tesla "
    "Lexus Dacia Mini Smart Jaguar Rover Golf Polo Clio Corsa Astra Focus Fiesta Yaris "
    "Volvo BMW Peugeot Renault Toyota Volkswagen Citroen Citroën Nissan Mazda Honda Hyundai "
    "Porsche Fiat Holland Allah God Dios Jesus Jesús Christ Kamer Hotel Club Salon"
)
# ...and words that are names only in the middle of a sentence ("Dan kwam hij", "Will you").
_SENTENCE_WORDS = _words(
    "Ben Dan Wil Can Will Una Ella Con Hay Nada Mar Sol Luz Paz Cruz Rosa Flor Dik Moreno Hope "
    "Grace Joy Faith Angel Amber Summer Mark Bill Pat Guy Frank Earl Dean Chase Hunter Ray Don "
    "Else Per Hoe Wat Toen Maar Alle Nog Bij Hij Zij Los Las Les Son Sin Amor Mine Elke Kent Lee "
    "Max Mira Toon"
)


@cache
def first_names() -> frozenset[str]:
    """The list shipped in moderation/data, read once."""
    text = (resources.files("moderation") / "data" / "first_names.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


@cache
def _place_names() -> frozenset[str]:
    """Dutch places named like people (Assen, Breda): a place is not the reporter's name."""
    tree = regions_service.read_region_file(regions_service.builtin_file())
    return frozenset(label for r in tree.regions for label in [r.name, *r.aliases])


def _is_name(word: str, *, sentence_start: bool) -> bool:
    if word in _NEVER_NAMES or word in _place_names():
        return False
    if sentence_start and word in _SENTENCE_WORDS:
        return False
    return word in first_names() or word.capitalize() in first_names()


def flag(text: str, *, default_region: str, reported: set[tuple[str, str]]) -> list[Flag]:
    """Every span worth a second look, in text order, without overlaps."""
    plain, starts, ends = _plain(text)
    found = [
        *_identifiers(plain, default_region, reported),
        *_places(plain),
        *_names(plain),
    ]
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


def _identifiers(plain: str, region: str, reported: set[tuple[str, str]]) -> list[Flag]:
    """Phone numbers, emails, ad links and handles; the client's own marked as such."""
    found = [
        _identifier_flag("phone", n.start, n.end, plain, region, reported)
        for n in phonenumbers.PhoneNumberMatcher(
            plain, region, leniency=phonenumbers.Leniency.POSSIBLE
        )
    ]
    for kind, pattern in (("email", _EMAIL), ("url", _URL), ("handle", _HANDLE)):
        found.extend(
            _identifier_flag(kind, m.start(), m.end(), plain, region, reported)
            for m in pattern.finditer(plain)
        )
    return found


def _places(plain: str) -> list[Flag]:
    """Streets, postcodes and workplaces."""
    places = _place_names()
    found = [
        Flag(m.start(), m.end(), kind, m.group())
        for kind, pattern in (
            ("address", _ADDRESS),
            ("postcode", _POSTCODE),
            ("workplace", _WORKPLACE),
        )
        for m in pattern.finditer(plain)
        if m.group().split()[0] not in places or kind != "address"  # "Amsterdam 12"
    ]
    found.extend(
        Flag(m.start(), m.end(), "workplace", m.group()) for m in _cues().workplace.finditer(plain)
    )
    found.extend(
        Flag(m.start(1), m.end(1), "address", m.group(1))
        for m in _WHERE.finditer(plain)
        if m.group(1) not in places and m.group(1).split()[0] not in _NEVER_NAMES
    )
    return found


def _names(plain: str) -> list[Flag]:
    """Self-introductions and listed first names anywhere."""
    found = []
    for m in _INTRO.finditer(plain):
        words = m.group(1).split()
        first = words[0]
        if first.isupper() and len(first) > 1:
            continue  # "I'm OK"
        if first[0].isupper() or _is_name(first, sentence_start=True):
            if len(words) > 1 and not _is_name(words[1], sentence_start=False):
                found.append(Flag(m.start(1), m.start(1) + len(first), "name", first))
            else:
                found.append(Flag(m.start(1), m.end(1), "name", m.group(1)))
    found.extend(_cue_names(plain))
    found.extend(
        Flag(m.start(1), m.end(1), "name", m.group(1))
        for m in _THIS_IS.finditer(plain)
        if m.group(1) not in _NEVER_NAMES and m.group(1) not in _place_names()
    )
    for m in _CAPITALISED.finditer(plain):
        start = _SENTENCE_START.search(plain[max(0, m.start() - 3) : m.start()]) is not None
        if _is_name(m.group(), sentence_start=start):
            found.append(Flag(m.start(), m.end(), "name", m.group()))
    return found


def _cue_names(plain: str) -> list[Flag]:
    """Names after the other languages' self-introductions: a capitalised word (and a
    second one, "Ana Maria"; not "OK"), a listed first name in small letters ("mă numesc
    ioana"; not after "I am": "jestem sama" is "I am alone"), or, in Thai, which has no
    capitals, the word after the phrase."""
    found = []
    for m in _cues().intro.finditer(plain):
        if m.group(2) is not None:  # Thai
            name = m.group(2)
            for ending in _THAI_ENDINGS:
                name = name.removesuffix(ending)
            if name:
                found.append(Flag(m.start(2), m.start(2) + len(name), "name", name))
            continue
        words = m.group(1).split()
        first = words[0]
        cue = " ".join(plain[m.start() : m.start(1)].strip(" ,").casefold().split())
        capitalised = first[0].isupper() and not first.isupper() and first not in _NEVER_NAMES
        if capitalised or (cue not in _I_AM and _is_name(first, sentence_start=True)):
            end = m.end(1) if len(words) > 1 else m.start(1) + len(first)
            found.append(Flag(m.start(1), end, "name", plain[m.start(1) : end]))
    return found


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
    as_reported = "handle" if kind in ("url", "handle") else kind  # an ad link is a handle
    try:
        value = {
            "phone": lambda: normalise_phone(raw, region),
            "email": lambda: normalise_email(raw),
            "handle": lambda: normalise_handle(raw),
        }[as_reported]()
    except InvalidIdentifier:
        value = None
    return Flag(start, end, kind, raw, reported_identifier=(as_reported, value) in reported)


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


def suggested_text(
    text: str,
    flags: Sequence[Flag],
    description: str = "",
    description_flags: Sequence[Flag] = (),
) -> str:
    """A first draft for the alert: what happened, then what the client looks like, with
    every flagged span left out. The client's own identifiers are left out too: the alert
    shows them from its identifier list, masked as the deployment's policy says, and a copy
    in the text would show them whole."""
    parts = (_redacted(text, flags), _redacted(description, description_flags))
    return "\n".join(part for part in parts if part)


def _redacted(text: str, flags: Sequence[Flag]) -> str:
    return clean(
        "".join(piece if f is None else REMOVED for piece, f in segments(text, flags))
    ).strip()


def reporter_flags_in(
    texts: Sequence[str], *, default_region: str, reported: set[tuple[str, str]]
) -> list[Flag]:
    """reporter_flags of an alert's texts: the written one and every language's."""
    return [
        flag
        for text in texts
        for flag in reporter_flags(text, default_region=default_region, reported=reported)
    ]


def reporter_flags(text: str, *, default_region: str, reported: set[tuple[str, str]]) -> list[Flag]:
    """The flags in an alert text that may be the reporter's own: publishing it asks first."""
    return [
        f
        for f in flag(text, default_region=default_region, reported=reported)
        if not f.reported_identifier
    ]
