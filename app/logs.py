"""Logging that cannot leak who someone is.

uvicorn's access log (which carries the client address) is switched off; our own
access line names the route template, the status and the time, nothing else. As a
second line of defence every message and traceback is passed through `redact`, which
masks anything shaped like a phone number, an email address or a receipt code.

What could be a phone number: seven digits or more, perhaps after a `+`, with spaces,
dots, dashes, slashes or brackets between them, in any country's way of writing one.
An operator still reads what is not: an IP address (`127.0.0.1:8000`), a date and time,
a decimal number (`12.5 s`), and any count or duration below a million.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CODE = re.compile(r"\b[0-9A-Z]{4}-?[0-9A-Z]{4}-?[0-9A-Z]{4}\b")
# Tried left to right at each place in the text, so a run that starts like a phone number
# is judged whole: "+31 6 12.34.56.78" is a number, not "+31 6 " and an IP address.
_DIGITS = re.compile(
    r"(?P<ip>(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.]|[ ()/-]\d))"
    r"|(?P<date>(?<![\d.])(?:\d{4}(?P<s1>[-/.])\d{1,2}(?P=s1)\d{1,2}|\d{1,2}(?P<s2>[-/.])\d{1,2}(?P=s2)\d{4})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)?(?![\d.]))"
    r"|(?P<time>(?<![\d.])\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?![\d.:]))"
    r"|(?P<decimal>(?<![\d.])(?:0|[1-9]\d{0,5})\.\d{1,3}(?![\d.]|[ ()/-]\d))"
    r"|(?P<number>\+?\d[\d ().\-/]*\d)"
)
PHONE_MIN_DIGITS = 7


def _mask_number(match: re.Match[str]) -> str:
    text = match.group()
    kind = match.lastgroup
    if kind == "ip" and _is_ipv4(text):
        return text
    if kind == "date" and _is_date(match):
        return text
    if kind in {"time", "decimal"}:
        return text
    digits = sum(char.isdigit() for char in text)
    return "[number]" if digits >= PHONE_MIN_DIGITS else text


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)  # no leading zeros: "020.123.45.67" is a phone number
    except ValueError:
        return False
    return True


def _is_date(match: re.Match[str]) -> bool:
    parts = [int(p) for p in re.split(r"[-/.]", match.group().split()[0].split("T")[0])]
    day, month = (parts[2], parts[1]) if parts[0] > 31 else (parts[0], parts[1])
    return 1 <= month <= 12 and 1 <= day <= 31


def redact(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    text = _CODE.sub("[code]", text)
    return _DIGITS.sub(_mask_number, text)


class RedactingFormatter(logging.Formatter):
    """Redacts the message and any traceback, but not the formatter's own timestamp."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = redact(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return redact(super().formatStack(stack_info))


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for our loggers, uvicorn's and the root; used by `redflag serve`."""
    handler = {"handlers": ["stderr"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "redacting": {
                "()": "app.logs.RedactingFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "redacting",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "redflag": {**handler, "level": level},
            "uvicorn": {**handler, "level": level},
            "uvicorn.error": {"level": level},
            # Never: each line carries the client's address.
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            "alembic": {**handler, "level": "INFO"},
            # The twilio client logs every request at INFO; its warnings are enough.
            "twilio": {**handler, "level": "WARNING"},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
