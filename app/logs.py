"""Logging that cannot leak who someone is.

uvicorn's access log (which carries the client address) is switched off; our own
access line names the route template, the status and the time, nothing else. As a
second line of defence every message and traceback is passed through `redact`, which
masks anything shaped like a phone number, an email address or a receipt code.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_REDACTIONS = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b[0-9A-Z]{4}-?[0-9A-Z]{4}-?[0-9A-Z]{4}\b"), "[code]"),
    (re.compile(r"\+?\d[\d ().-]{5,}\d"), "[number]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


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
