"""An organisation, its regions, and which accounts are its people."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from app.schemas import Strict

MAX_NAME = 80


class Organisation(SQLModel, table=True):
    id: int | None = SQLField(default=None, primary_key=True)
    name: str = SQLField(max_length=MAX_NAME, unique=True)
    active: bool = True
    created_at: datetime = SQLField(sa_column=Column(DateTime(timezone=True), nullable=False))


class OrganisationRegion(SQLModel, table=True):
    """Where an organisation works: its digest and its alert address cover these."""

    __tablename__ = "organisation_region"

    organisation_id: int = SQLField(
        foreign_key="organisation.id", ondelete="CASCADE", primary_key=True
    )
    region_code: str = SQLField(foreign_key="region.code", primary_key=True, max_length=16)


class OrganisationMember(SQLModel, table=True):
    """An account (role "organisation") and the one organisation it acts for."""

    __tablename__ = "organisation_member"

    moderator_id: int = SQLField(foreign_key="moderator.id", ondelete="CASCADE", primary_key=True)
    organisation_id: int = SQLField(foreign_key="organisation.id", ondelete="CASCADE", index=True)


# ---- what the API takes and gives -----------------------------------------------------------


class OrganisationCreate(Strict):
    name: str = Field(min_length=2, max_length=MAX_NAME)
    regions: list[str] = Field(
        min_length=1, max_length=50, description="Region codes (municipalities or provinces)"
    )


class RegionsIn(Strict):
    regions: list[str] = Field(min_length=1, max_length=50)


class PersonCreate(Strict):
    username: str = Field(min_length=3, max_length=40)
    password: str = Field(min_length=1, max_length=200)


class InviteCounts(BaseModel):
    """An organisation's invite codes by what became of them; never who used one."""

    issued: int
    used: int
    expired: int = Field(description="Never used, and past their date")
    open: int = Field(description="Not used yet and still valid")


class OrganisationOut(BaseModel):
    """The organisation a person acts for, as that person sees it."""

    id: int
    name: str
    regions: list[str] = Field(description="Region codes")
    region_names: list[str]
    invites: InviteCounts


class OrganisationPublic(OrganisationOut):
    """As admins see it: whether it is active, and how many people it has."""

    active: bool
    people: int = Field(description="Active accounts")
