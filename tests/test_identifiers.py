"""Normalising a reported person's identifiers so that the same person matches."""

import pytest

from app.identifiers import (
    IdentifierKind,
    InvalidIdentifier,
    normalise,
    normalise_email,
    normalise_handle,
    normalise_phone,
    normalise_plate,
)


@pytest.mark.parametrize(
    "typed",
    [
        "06 12345678",
        "0612345678",
        "06-12345678",
        "+31 6-1234 5678",
        "+31612345678",
        "0031612345678",
        "(06) 1234 5678",
        "+31 (0)6 12345678",
    ],
)
def test_every_way_of_writing_a_dutch_mobile_is_one_number(typed: str) -> None:
    assert normalise_phone(typed, "NL") == "+31612345678"


def test_foreign_numbers_keep_their_country() -> None:
    assert normalise_phone("+61 491 570 156", "NL") == "+61491570156"
    assert normalise_phone("0491 570 156", "AU") == "+61491570156"


@pytest.mark.parametrize("typed", ["12", "0612", "06 1234567890123", "not a number", "+999 123"])
def test_invalid_phone_numbers_are_refused_without_echoing_them(typed: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        normalise_phone(typed, "NL")
    assert info.value.code == "invalid_phone"
    assert typed not in str(info.value)


def test_emails_are_lower_cased_and_checked() -> None:
    assert normalise_email("  Bad.Client@Example.COM ") == "bad.client@example.com"
    for typed in ["no-at-sign", "a@b", "two@@example.com", "a b@example.com"]:
        with pytest.raises(InvalidIdentifier, match="not a valid email"):
            normalise_email(typed)


def test_plates_lose_separators() -> None:
    assert normalise_plate("12-abc-3") == "12ABC3"
    assert normalise_plate("XX 123 Y") == normalise_plate("xx-123-y") == "XX123Y"
    with pytest.raises(InvalidIdentifier):
        normalise_plate("-")


@pytest.mark.parametrize(
    "typed",
    [
        "@Bad_Client",
        "bad_client",
        "https://www.instagram.com/bad_client/",
        "instagram.com/bad_client",
        "www.example-ads.nl/profile/Bad_Client?ref=x",
        "https://t.me/bad_client",
    ],
)
def test_handles_and_links_become_the_bare_handle(typed: str) -> None:
    assert normalise_handle(typed) == "bad_client"


def test_bad_handles() -> None:
    for typed in ["", "@", "two words"]:
        with pytest.raises(InvalidIdentifier, match="handle"):
            normalise_handle(typed)


def test_normalise_dispatches_by_kind() -> None:
    assert normalise(IdentifierKind.phone, "0612345678", default_region="NL") == "+31612345678"
    assert normalise(IdentifierKind.plate, "ab-12", default_region="NL") == "AB12"
