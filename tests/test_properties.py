"""Properties that must hold for every input, not just the examples we thought of:
phone numbers, masking, SMS segments, SMS commands, receipt codes (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.render import GSM7_BASIC, GSM7_EXTENSION, mask, measure
from alerts.subscriptions.commands import KEYWORDS, parse
from app import receipts
from app.identifiers import InvalidIdentifier, normalise_phone

settings.register_profile("redflag", max_examples=200, deadline=None, derandomize=True)
settings.load_profile("redflag")

SEPARATORS = st.sampled_from(["", " ", "-", ".", "  "])
# 06-1 to 06-5 and 06-8: mobile ranges (06-7 and 06-9 are not handed out as mobiles).
DUTCH_MOBILE = st.builds(
    lambda block, rest: f"6{block}{rest:07d}",
    st.sampled_from([1, 2, 3, 4, 5, 8]),
    st.integers(min_value=0, max_value=9_999_999),
)


def spread(digits: str, separators: list[str]) -> str:
    """The digits with a separator (perhaps none) after each one, as people type them."""
    return (
        "".join(d + s for d, s in zip(digits, separators, strict=False)) + digits[len(separators) :]
    )


# ---- phone numbers -------------------------------------------------------------------------


@given(national=DUTCH_MOBILE, separators=st.lists(SEPARATORS, max_size=12), style=st.integers(0, 3))
def test_every_way_of_writing_a_number_is_one_number(
    national: str, separators: list[str], style: int
) -> None:
    written = [f"0{national}", f"+31{national}", f"0031{national}", f"+31 (0){national}"][style]
    typed = spread(written[: len(written) - len(national)], []) + spread(national, separators)
    assert normalise_phone(typed, "NL") == f"+31{national}"
    assert normalise_phone(f"+31{national}", "BE") == f"+31{national}", "country code wins"


@given(st.text(max_size=40))
def test_anything_typed_is_a_number_or_a_clear_refusal(typed: str) -> None:
    try:
        e164 = normalise_phone(typed, "NL")
    except InvalidIdentifier as refusal:
        reason, message = refusal.code, refusal.message
        e164 = ""
    else:
        reason, message = "", ""
    if e164:
        assert e164.startswith("+") and e164[1:].isdigit()
        assert normalise_phone(e164, "NL") == e164, "idempotent"
    else:
        assert reason == "invalid_phone"
        assert message == "not a valid phone number", "one fixed message: nothing echoed"


# ---- masking --------------------------------------------------------------------------------


@given(national=DUTCH_MOBILE)
def test_partial_masking_hides_two_digits_and_keeps_the_rest(national: str) -> None:
    e164 = f"+31{national}"
    shown = mask("phone", e164, "partial")
    assert shown is not None
    digits = [c for c in shown if c.isdigit() or c == "*"]
    assert "".join(digits).count("*") == 2
    assert "".join(digits)[-2:] == national[-2:], "the last two stay readable"
    assert "".join(c for c in shown if c.isdigit()) != e164[1:], "the number is not all there"
    full = mask("phone", e164, "full")
    assert full is not None and "".join(c for c in full if c.isdigit()) == e164[1:]
    assert mask("phone", e164, "none") is None


@given(
    local=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", min_size=2, max_size=20),
    domain=st.sampled_from(["example.org", "mail.example.nl"]),
)
def test_a_masked_email_keeps_its_domain_and_one_letter(local: str, domain: str) -> None:
    shown = mask("email", f"{local}@{domain}", "partial")
    assert shown == f"{local[0]}***@{domain}"


# ---- SMS segments ---------------------------------------------------------------------------

GSM_TEXT = st.text(alphabet=GSM7_BASIC + GSM7_EXTENSION, max_size=700)
ANY_TEXT = st.text(max_size=400)


def units_of(text: str) -> list[int]:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


@given(st.one_of(GSM_TEXT, ANY_TEXT))
def test_segments_are_what_the_network_would_send(text: str) -> None:
    length = measure(text)
    sizes = units_of(text)
    gsm = length.encoding == "GSM-7"
    assert gsm == all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)
    single, part = (160, 153) if gsm else (70, 67)
    assert length.units == sum(sizes) and length.characters == len(text)
    if not text:
        assert length.segments == 0
    elif length.units <= single:
        assert length.segments == 1
    else:
        # The parts fit, no two-unit character is split, and one part fewer would not do.
        assert length.segments >= math.ceil(length.units / part)
        parts, used = 1, 0
        for size in sizes:
            if used + size > part:
                parts, used = parts + 1, 0
            used += size
        assert length.segments == parts
        assert length.segments <= math.ceil(length.units / (part - 1))


@given(st.one_of(GSM_TEXT, ANY_TEXT), st.characters())
def test_a_longer_text_never_needs_fewer_segments(text: str, extra: str) -> None:
    assert measure(text + extra).segments >= measure(text).segments


# ---- SMS commands ---------------------------------------------------------------------------

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@given(
    keyword=st.sampled_from(sorted(KEYWORDS)),
    argument=st.lists(WORD, max_size=4).map(" ".join),
    shout=st.booleans(),
    padding=st.sampled_from(["", " ", "  ", "\n"]),
)
def test_every_keyword_in_any_case_with_any_argument(
    keyword: str, argument: str, shout: bool, padding: str
) -> None:
    typed = keyword.upper() if shout else keyword.lower().capitalize()
    command = parse(f"{padding}{typed} {argument}{padding}")
    action, language = KEYWORDS[keyword]
    assert (command.action, command.language) == (action, language)
    assert command.argument == argument.strip()


@given(st.text(max_size=200))
def test_any_message_parses_to_a_command(body: str) -> None:
    command = parse(body)
    assert command.action in {"join", "stop", "help", "check", "language", "unknown"}
    if command.action == "unknown":
        assert command.argument == ""


@pytest.mark.parametrize(("typed", "action"), [("AYÚDA", "help"), ("áfmelden", "stop")])
def test_accents_do_not_matter(typed: str, action: str) -> None:
    assert parse(typed).action == action


# ---- receipt codes --------------------------------------------------------------------------


def test_new_receipt_codes_are_long_random_and_canonical() -> None:
    codes = {receipts.new_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert receipts.BITS >= 60
    for code in codes:
        assert receipts.normalise(code) == code.replace("-", "")


@given(
    code=st.text(alphabet=receipts.ALPHABET, min_size=12, max_size=12).map(receipts.format_code),
    data=st.data(),
)
def test_a_receipt_code_survives_the_ways_people_type_it_back(
    code: str, data: st.DataObject
) -> None:
    canonical = receipts.normalise(code)
    assert canonical is not None and len(canonical) == receipts.SYMBOLS
    retyped = "".join(
        data.draw(st.sampled_from(_ways_to_type(ch)))
        if ch != "-"
        else data.draw(st.sampled_from(["", "-", " ", "  ", " - "]))
        for ch in code
    )
    assert receipts.normalise(retyped) == canonical
    assert receipts.normalise(receipts.format_code(canonical)) == canonical, "idempotent"


def _ways_to_type(symbol: str) -> list[str]:
    ways = {symbol, symbol.lower()}
    if symbol == "0":
        ways |= {"O", "o"}
    if symbol == "1":
        ways |= {"I", "i", "L", "l"}
    return sorted(ways)


@given(st.text(max_size=30))
def test_anything_typed_is_a_code_or_nothing(typed: str) -> None:
    canonical = receipts.normalise(typed)
    if canonical is not None:
        assert len(canonical) == receipts.SYMBOLS
        assert set(canonical) <= set(receipts.ALPHABET)
