"""Where someone who was just hurt can get help: the support file (docs/operations.md).

One JSON file per deployment, like the region file: the emergency number, and the
organisations people can call, each scoped to the whole country or to some provinces or
municipalities, with its phone number, hours and what it helps with in every language
the site speaks, and where the operator checked it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from app.i18n import LANGUAGES

NATIONAL = "national"
# Phone numbers as people dial them: digits, spaces, dashes, dots, brackets, a leading +.
_PHONE = r"^\+?[0-9][0-9 ().-]{1,23}$"


class PerLanguage(BaseModel):
    """The same text in the site's languages: nl, en and es always, the others where the
    deployment gives them (English stands in for a language left out)."""

    model_config = ConfigDict(extra="forbid")

    nl: str = Field(min_length=1, max_length=300)
    en: str = Field(min_length=1, max_length=300)
    es: str = Field(min_length=1, max_length=300)
    ro: str | None = Field(default=None, min_length=1, max_length=300)
    bg: str | None = Field(default=None, min_length=1, max_length=300)
    hu: str | None = Field(default=None, min_length=1, max_length=300)
    pl: str | None = Field(default=None, min_length=1, max_length=300)
    pt: str | None = Field(default=None, min_length=1, max_length=300)
    th: str | None = Field(default=None, min_length=1, max_length=300)

    def get(self, lang: str) -> str:
        given = getattr(self, lang, None) if lang in LANGUAGES else None
        return str(given or self.en)


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    # When an operator last checked the entry there; null: nobody has yet (the app warns).
    checked: date | None

    @field_validator("checked")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        if value is not None and value > date.today():
            raise ValueError("the date checked cannot be in the future")
        return value


class SupportEntry(BaseModel):
    """One organisation people can call."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scope: Literal["national"] | list[str] = Field(
        description='"national", or the province and municipality codes it serves'
    )
    phone: str = Field(max_length=24, description="As people dial it: 0800-0188")
    hours: PerLanguage
    helps_with: PerLanguage
    source: Source

    @field_validator("scope")
    @classmethod
    def _codes(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            if not value:
                raise ValueError('list at least one region code, or say "national"')
            bad = [c for c in value if not re.fullmatch(r"[A-Za-z0-9-]{1,16}", c)]
            if bad:
                raise ValueError(f"not a region code: {', '.join(map(repr, bad))}")
            return [c.upper() for c in value]
        return value

    @field_validator("phone")
    @classmethod
    def _dialable(cls, value: str) -> str:
        if not re.fullmatch(_PHONE, value):
            raise ValueError(
                "not a phone number as people dial it (e.g. 0800-0188, +31 20 1234567)"
            )
        return value

    @property
    def is_national(self) -> bool:
        return self.scope == NATIONAL

    @property
    def tel(self) -> str:
        """The number for a tel: link: as dialled in the country, without separators."""
        return re.sub(r"[^0-9+]", "", self.phone)


class SupportFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = ""
    emergency: str = Field(default="112", pattern=r"^[0-9]{2,4}$")
    entries: list[SupportEntry] = Field(min_length=1)
