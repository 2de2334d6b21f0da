"""Normalising what identifies a reported person, so that the same person matches.

Every way of writing a number (`06 12345678`, `+31 6-1234 5678`, `0031612345678`)
becomes one E.164 string; emails are lower-cased; plates lose their dashes; ad links
and `@handles` become the bare handle. Only a blind index of the result is used for
matching. Errors say what is wrong and never repeat the value.
"""

from __future__ import annotations

import re
from enum import StrEnum
from urllib.parse import unquote, urlsplit

import phonenumbers


class IdentifierKind(StrEnum):
    phone = "phone"
    email = "email"
    plate = "plate"
    handle = "handle"


class InvalidIdentifier(ValueError):
    """`code` is a stable reason such as "invalid_phone"; `message` is safe to show."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.|[\w-]+(?:\.[\w-]+)+/)", re.IGNORECASE)


def normalise_phone(raw: str, default_region: str) -> str:
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier("invalid_phone", "not a valid phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier("invalid_phone", "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidIdentifier("invalid_email", "not a valid email address")
    return email


def normalise_plate(raw: str) -> str:
    plate = "".join(ch for ch in raw.upper() if ch.isalnum())
    if not 2 <= len(plate) <= 12:
        raise InvalidIdentifier(
            "invalid_plate", "not a valid number plate (2 to 12 letters/digits)"
        )
    return plate


def normalise_handle(raw: str) -> str:
    text = raw.strip()
    if _URLISH.match(text):
        parsed = urlsplit(text if "://" in text else f"https://{text}")
        segments = [unquote(s) for s in parsed.path.split("/") if s]
        text = segments[-1] if segments else (parsed.hostname or "")
    handle = text.lstrip("@").strip().casefold()
    if not 1 <= len(handle) <= 100 or any(ch.isspace() for ch in handle):
        raise InvalidIdentifier("invalid_handle", "not a valid handle or ad link")
    return handle


def normalise(kind: IdentifierKind, raw: str, *, default_region: str) -> str:
    if kind is IdentifierKind.phone:
        return normalise_phone(raw, default_region)
    if kind is IdentifierKind.email:
        return normalise_email(raw)
    if kind is IdentifierKind.plate:
        return normalise_plate(raw)
    return normalise_handle(raw)
