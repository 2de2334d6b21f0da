"""The region tree: country → province → municipality. Reports and alerts point at it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Column
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel


class RegionLevel(StrEnum):
    country = "country"
    province = "province"
    municipality = "municipality"


class Region(SQLModel, table=True):
    code: str = SQLField(primary_key=True, max_length=16)
    name: str = SQLField(max_length=100)
    level: str = SQLField(max_length=16)
    parent_code: str | None = SQLField(
        default=None, foreign_key="region.code", index=True, max_length=16
    )
    aliases: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Folded name and aliases ("|"-separated) for accent- and case-insensitive search.
    search_text: str = SQLField(max_length=4000)
    active: bool = True


class RegionIn(BaseModel):
    """One line of a region file (see docs/regions.md)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")
    name: str = Field(min_length=1, max_length=100)
    level: RegionLevel
    parent: str | None = None
    aliases: list[str] = Field(default_factory=list)


class RegionFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = ""
    regions: list[RegionIn]


class RegionPublic(BaseModel):
    code: str = Field(examples=["GM0106"])
    name: str = Field(examples=["Assen"])
    level: RegionLevel


class RegionMatch(RegionPublic):
    parent: RegionPublic | None = None
    matched_alias: str | None = Field(
        default=None, description="The town or alternative name that matched, if not the name"
    )


class RegionNode(RegionPublic):
    children: list[RegionNode] = Field(default_factory=list)
