"""The log filter masks what could be a phone number and leaves an operator the rest:
addresses, ports, times, durations, counts (hypothesis, and every country's numbers)."""

from __future__ import annotations

import logging
from datetime import datetime

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from app.logs import RedactingFormatter, redact
from tests.test_properties import DUTCH_MOBILE, SEPARATORS, spread

EXAMPLES = settings(max_examples=200, deadline=None, derandomize=True)


def digits_of(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def test_uvicorns_start_line_is_left_readable() -> None:
    line = "Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)"
    assert redact(line) == line
    formatter = RedactingFormatter("%(message)s")
    record = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, line, None, None)
    assert formatter.format(record) == line


@EXAMPLES
@given(
    address=st.ip_addresses(v=4),
    port=st.integers(1, 65535),
    when=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    seconds=st.floats(0, 99_999, allow_nan=False),
    count=st.integers(0, 999_999),
)
def test_addresses_ports_times_durations_and_counts_stay_readable(
    address: object, port: int, when: datetime, seconds: float, count: int
) -> None:
    lines = [
        f"Uvicorn running on http://{address}:{port} (Press CTRL+C to quit)",
        f"connecting to {address} port {port}",
        f"{when.isoformat()} {when:%Y-%m-%d %H:%M:%S},123 worker up",
        f"at {when:%H:%M:%S} on {when:%d-%m-%Y} and {when:%d/%m/%Y}",
        f"GET /api/v1/reports status=200 duration_ms={seconds:.0f}",
        f"sent in {seconds:.1f} s ({seconds:.3f} s), {count} rows pruned",
        f"Started server process [{count}]",
    ]
    for line in lines:
        assert redact(line) == line


def _example_numbers() -> list[tuple[str, str]]:
    """Every country's example mobile and fixed-line number, in every format phonenumbers
    writes; a national number shorter than seven digits (a few islands) is left out, since
    it reads like any count."""
    written = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            formats = [
                PhoneNumberFormat.INTERNATIONAL,
                PhoneNumberFormat.E164,
                PhoneNumberFormat.RFC3966,
            ]
            if len(digits_of(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))) >= 7:
                formats.append(PhoneNumberFormat.NATIONAL)
            for style in formats:
                written.append((region, phonenumbers.format_number(number, style)))
            out_of = phonenumbers.format_out_of_country_calling_number(number, "NL")
            written.append((region, out_of))  # 00 44 ..., as dialled from the Netherlands
    return written


def test_every_countrys_numbers_are_masked_in_every_format() -> None:
    numbers = _example_numbers()
    assert len(numbers) > 1500
    missed = []
    for region, written in numbers:
        line = f"twilio said 21211 for {written}; retrying"
        masked = redact(line)
        if digits_of(masked) != "21211":  # "[number]", or "[code]" for twelve digits
            missed.append((region, written, masked))
    assert missed == []


@EXAMPLES
@given(national=DUTCH_MOBILE, separators=st.lists(SEPARATORS, max_size=12), style=st.integers(0, 3))
def test_every_way_of_writing_a_dutch_mobile_is_masked(
    national: str, separators: list[str], style: int
) -> None:
    prefix = ["0", "+31", "0031", "+31 (0)"][style]
    written = prefix + spread(national, separators)
    for line in [
        f"call {written} now",
        f"{written}",
        f"from 127.0.0.1 at 12:30: {written}, {written}",
        f"tel:{written}",
    ]:
        masked = redact(line)
        assert national[1:] not in digits_of(masked), (line, masked)
        assert "[number]" in masked


@pytest.mark.parametrize(
    "written",
    [
        "+31 6 12.34.56.78",  # an IP address's shape inside a number
        "020.123.45.67",  # four groups, but a leading zero: not an address
        "0.612345678",
        "06.12345678",
        "0612-34-56-78",
        "2026 0612345678",
        "(020) 123 4567",
        "0612345678 0687654321",  # two numbers run together
    ],
)
def test_numbers_that_look_like_something_else_are_still_masked(written: str) -> None:
    assert len(digits_of(redact(f"x {written} y"))) < 7
