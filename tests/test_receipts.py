"""Receipt codes: enough entropy, easy to type, forgiving when read back."""

import math
import os
import re
from collections import Counter

from app import receipts
from app.crypto import BlindIndex


def test_code_shape_and_entropy() -> None:
    code = receipts.new_code()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code)
    assert receipts.BITS == receipts.SYMBOLS * math.log2(len(receipts.ALPHABET)) >= 60


def test_codes_do_not_repeat() -> None:
    assert len({receipts.new_code() for _ in range(5000)}) == 5000


def test_every_symbol_is_equally_likely_in_every_place() -> None:
    draws = 20_000
    codes = [receipts.new_code().replace("-", "") for _ in range(draws)]
    expected = draws / len(receipts.ALPHABET)  # 625; one standard deviation is about 24
    for place in range(receipts.SYMBOLS):
        counts = Counter(code[place] for code in codes)
        assert set(counts) == set(receipts.ALPHABET), place
        assert all(abs(n - expected) < 6 * math.sqrt(expected) for n in counts.values()), place


def test_typing_slips_are_forgiven() -> None:
    for typed in ["k7qf-3mzp-xw4d", "K7QF3MZPXW4D", " K7QF 3MZP XW4D ", "k7qf3mzp-xw4d"]:
        assert receipts.normalise(typed) == "K7QF3MZPXW4D"
    assert receipts.normalise("A0B1-C1D0-EFGH") == receipts.normalise("AOBI-CLDO-EFGH")


def test_impossible_codes_are_refused() -> None:
    for typed in ["", "K7QF-3MZP", "K7QF-3MZP-XW4D-AAAA", "K7QF-3MZP-XW4U", "💥💥💥"]:
        assert receipts.normalise(typed) is None


def test_only_a_keyed_hash_is_stored() -> None:
    index = BlindIndex(os.urandom(32))
    digest = receipts.code_hash(index, "k7qf-3mzp-xw4d")
    assert digest == receipts.code_hash(index, "K7QF3MZPXW4D")
    assert digest is not None
    assert b"K7QF" not in digest
    assert digest != receipts.code_hash(BlindIndex(os.urandom(32)), "K7QF3MZPXW4D")
