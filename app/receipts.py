"""Receipt codes: the reporter's only handle on their report.

12 symbols of Crockford's base32 (60 bits), shown as `K7QF-3MZP-XW4D`. The alphabet
has no I, L, O or U, and reading a code back forgives the usual slips: lower case,
missing or extra dashes and spaces, O for 0, I or L for 1. Only a keyed hash of the
normalised code is stored, so a stolen database cannot be used to look reports up.
"""

from __future__ import annotations

import secrets

from app.crypto import BlindIndex

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SYMBOLS = 12
GROUP = 4
BITS = SYMBOLS * 5
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code(symbols: int = SYMBOLS) -> str:
    # 60 random bits in one read of the system's randomness (secrets.choice would read it
    # about twice per symbol), five bits to a symbol: 32 symbols, so each is uniform.
    # Shorter codes (invite codes: 8 symbols) take the same alphabet and grouping.
    bits = secrets.randbits(symbols * 5)
    raw = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(symbols))
    return format_code(raw)


def format_code(raw: str) -> str:
    return "-".join(raw[i : i + GROUP] for i in range(0, len(raw), GROUP))


def normalise(typed: str, symbols: int = SYMBOLS) -> str | None:
    """The canonical symbols of a typed code, or None when it cannot be a code."""
    cleaned = "".join(ch for ch in typed.upper() if ch not in "- \t").translate(_CONFUSABLE)
    if len(cleaned) != symbols or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def code_hash(index: BlindIndex, typed: str) -> bytes | None:
    canonical = normalise(typed)
    return None if canonical is None else index.digest("receipt", canonical)
