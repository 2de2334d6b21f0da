"""Text as people will read it: composed (NFC), without invisible characters.

One invisible character in an alert (a zero-width space, a byte-order mark, a
right-to-left override) switches the whole SMS to UCS-2, which halves what fits in a
message; control characters can make one message look like two, with a fake
"Reply STOP" line. The same characters hide an address from the redaction help. So text
that one person types and others will read goes through clean() before it is checked,
previewed, stored or sent.
"""

from __future__ import annotations

import unicodedata

ZWNJ, ZWJ = "\u200c", "\u200d"
# Every way of ending a line that str.splitlines knows, as one newline.
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Control, format and lone surrogate characters: nothing a reader sees.
INVISIBLE = frozenset({"Cc", "Cf", "Cs"})


def clean(text: str) -> str:
    """The text composed (NFC), with every line break a newline, every tab or other space a
    plain space, and control and format characters left out; ZWJ and ZWNJ stay only
    between two non-ASCII letters, marks or symbols, where scripts and emoji need them."""
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
        elif ch in (ZWNJ, ZWJ):
            if _joins(text[i - 1 : i]) and _joins(text[i + 1 : i + 2]):
                kept.append((ch, i))
        elif unicodedata.category(ch) not in INVISIBLE:
            kept.append((ch, i))
    return kept


def _joins(neighbour: str) -> bool:
    return bool(neighbour) and neighbour > "\x7f" and unicodedata.category(neighbour)[0] in "LMS"
