"""Text as people will read it: composed (NFC), without invisible characters.

One invisible character in an alert (a zero-width space, a byte-order mark, a
right-to-left override, a variation selector) switches the whole SMS to UCS-2, which
halves what fits in a message; control characters can make one message look like two,
with a fake "Reply STOP" line. The same characters hide an address from the redaction
help. So text that one person types and others will read goes through clean() before it
is checked, previewed, stored or sent.
"""

from __future__ import annotations

import unicodedata

ZWNJ, ZWJ = "\u200c", "\u200d"
# Every way of ending a line that str.splitlines knows, as one newline.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Control, format and lone surrogate characters: nothing a reader sees.
INVISIBLE = frozenset({"Cc", "Cf", "Cs"})


def _span(first: int, last: int) -> frozenset[str]:
    return frozenset(map(chr, range(first, last + 1)))


# Unicode's Default_Ignorable_Code_Point list (DerivedCoreProperties.txt) outside the
# control and format categories, which INVISIBLE already leaves out, and outside plane 14
# (below): marks and letters that show nothing but hide an address from the patterns or
# force an SMS into UCS-2. The braille blank is not on the list but shows nothing either.
IGNORABLE = (
    _span(0x034F, 0x034F)  # combining grapheme joiner
    | _span(0x115F, 0x1160)  # Hangul choseong and jungseong fillers
    | _span(0x17B4, 0x17B5)  # Khmer inherent vowels
    | _span(0x180B, 0x180F)  # Mongolian free variation selectors and vowel separator
    | _span(0x2065, 0x2065)  # reserved
    | _span(0x2800, 0x2800)  # braille pattern blank
    | _span(0x3164, 0x3164)  # Hangul filler
    | _span(0xFE00, 0xFE0F)  # variation selectors 1-16
    | _span(0xFFA0, 0xFFA0)  # halfwidth Hangul filler
    | _span(0xFFF0, 0xFFF8)  # reserved
)
# Plane 14: tags, variation selectors 17-256 and reserved, all ignorable.
PLANE_14 = ("\U000e0000", "\U000e0fff")
VARIATION_SELECTORS = _span(0xFE00, 0xFE0F) | _span(0xE0100, 0xE01EF)
# Emoji that Unicode does not class as symbols but that take an emoji presentation selector.
EMOJI_NOT_SYMBOLS = frozenset("\u203c\u2049\u2139\u3030\u303d")
KEYCAP_BASES, KEYCAP = frozenset("0123456789#*"), "\u20e3"
# A subdivision flag (England, Scotland, Wales) is a black flag followed by tag characters.
BLACK_FLAG, TAGS, CANCEL_TAG = "\U0001f3f4", ("\U000e0020", "\U000e007e"), "\U000e007f"
MONGOLIAN_SELECTORS = _span(0x180B, 0x180F)
MONGOLIAN_LETTERS = ("\u1820", "\u18aa")


def clean(text: str) -> str:
    """The text composed (NFC), with every line break a newline, every tab or other space a
    plain space, and control, format and other default-ignorable characters left out. They
    stay only where a script or an emoji needs them: ZWJ and ZWNJ between two non-ASCII
    letters, marks or symbols; a variation selector after a non-ASCII symbol (emoji or text
    presentation) or in a keycap; tags after a black flag; Mongolian selectors after a
    Mongolian letter."""
    return unicodedata.normalize("NFC", "".join(piece for piece, _, _ in readable(text)))


def readable(text: str) -> list[tuple[str, int, int]]:
    """The text as clean() leaves it, in pieces (a letter with its marks, composed), each
    with where it starts and ends in `text`: spans found in the clean text can be shown in
    the text as given."""
    kept = _visible(text)
    pieces: list[tuple[str, int, int]] = []
    for ch, i in kept:
        if pieces and unicodedata.combining(ch):
            piece, start, _ = pieces[-1]
            pieces[-1] = (unicodedata.normalize("NFC", piece + ch), start, i + 1)
        else:
            pieces.append((ch, i, i + 1))
    return pieces


def _visible(text: str) -> list[tuple[str, int]]:
    kept: list[tuple[str, int]] = []
    for i, ch in enumerate(text):
        if ch == "\r" and text[i + 1 : i + 2] == "\n":
            continue  # CR LF is one line break
        if ch in LINE_BREAKS:
            kept.append(("\n", i))
        elif ch == "\t" or unicodedata.category(ch) == "Zs":
            kept.append((" ", i))
        elif _stays(ch, kept[-1][0] if kept else "", text[i + 1 : i + 2]):
            kept.append((ch, i))
    return kept


def _stays(ch: str, previous: str, following: str) -> bool:
    """Whether `ch` stays, after the character kept before it and before the next one given:
    an invisible character stays only beside what it changes."""
    if ch in (ZWNJ, ZWJ):
        return _joins(previous) and _joins(following) and not _ignorable(following)
    if ch in VARIATION_SELECTORS:
        keycap = ch == "\ufe0f" and previous in KEYCAP_BASES and following == KEYCAP
        return _presented(previous) or keycap
    if ch in MONGOLIAN_SELECTORS:
        return MONGOLIAN_LETTERS[0] <= previous <= MONGOLIAN_LETTERS[1]
    if TAGS[0] <= ch <= CANCEL_TAG:
        return previous == BLACK_FLAG or TAGS[0] <= previous <= TAGS[1]
    return not _ignorable(ch)


def _ignorable(ch: str) -> bool:
    return (
        unicodedata.category(ch) in INVISIBLE or ch in IGNORABLE or PLANE_14[0] <= ch <= PLANE_14[1]
    )


def _joins(neighbour: str) -> bool:
    return bool(neighbour) and neighbour > "\x7f" and unicodedata.category(neighbour)[0] in "LMS"


def _presented(previous: str) -> bool:
    """Whether a variation selector after `previous` chooses how a symbol looks (emoji or
    text); after a letter or anything ASCII it would only hide something."""
    return previous > "\x7f" and (
        unicodedata.category(previous) in ("So", "Sm") or previous in EMOJI_NOT_SYMBOLS
    )
