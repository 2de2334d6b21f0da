"""A police export: which report, who prepared it and who approved it. The package itself
is built from the report when it is read, so nothing is copied out of the report."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from app.reports.models import Category, PartOfDay, PoliceConsent


def _when(nullable: bool) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class PoliceExport(SQLModel, table=True):
    __tablename__ = "police_export"

    id: int | None = SQLField(default=None, primary_key=True)
    report_id: int = SQLField(foreign_key="report.id", ondelete="CASCADE", unique=True)
    prepared_by_id: int = SQLField(foreign_key="moderator.id")
    prepared_at: datetime = SQLField(sa_column=_when(False))
    approved_by_id: int | None = SQLField(default=None, foreign_key="moderator.id")
    approved_at: datetime | None = SQLField(default=None, sa_column=_when(True))


class ExportStatus(StrEnum):
    waiting = "waiting"  # for a second admin's approval
    approved = "approved"  # may be downloaded
    withdrawn = "withdrawn"  # the reporter took the consent back before approval


class ExportOut(BaseModel):
    id: int
    report_id: int
    status: ExportStatus
    consent: PoliceConsent
    prepared_by: str
    prepared_at: datetime
    approved_by: str | None
    approved_at: datetime | None


class PackageIdentifier(BaseModel):
    kind: str
    value: str


class Package(BaseModel):
    """What the police get: the incident, the client, and the reporter's own words only when
    they asked to be contacted. Never the receipt code, nothing about the reporter."""

    export_id: int
    consent: PoliceConsent
    incident_date: date
    part_of_day: PartOfDay
    municipality: str
    categories: list[Category]
    identifiers: list[PackageIdentifier] = Field(description="The client's, in full")
    description: str | None = Field(description="Of the client")
    what_happened: str | None = Field(
        description="The reporter's own words: only with consent `contact`"
    )
    contact: str | None = Field(
        description="How the reporter can be reached: through the service, never directly"
    )
