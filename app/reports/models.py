"""Reports: what a reporter sends, how it is stored, and what may ever be shown back.

Stored: the region, a date and part of day, categories, and (encrypted) the text and
the reported person's identifiers. Never stored: anything about the reporter.
Submission times are kept to the hour only, so they cannot be matched to network logs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, false
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from app.rotation import encrypted_column
from app.schemas import Strict

MAX_TEXT = 5000
MAX_DESCRIPTION = 2000
MAX_MESSAGE = 2000
MAX_ADDITIONS = 10  # pieces of information a reporter can add to one report
MAX_IDENTIFIERS = 10
OLDEST_INCIDENT = timedelta(days=3 * 365)


class ReportStatus(StrEnum):
    submitted = "submitted"
    in_review = "in_review"
    needs_info = "needs_info"
    published = "published"
    rejected = "rejected"
    duplicate = "duplicate"
    withdrawn = "withdrawn"


# Every move a report can make. Anything else is refused with 409 (app/reports/service.py).
TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.submitted: frozenset({ReportStatus.in_review, ReportStatus.withdrawn}),
    ReportStatus.in_review: frozenset(
        {
            ReportStatus.submitted,  # the moderator released it, or the claim expired
            ReportStatus.published,
            ReportStatus.rejected,
            ReportStatus.needs_info,
            ReportStatus.duplicate,
            ReportStatus.withdrawn,
        }
    ),
    ReportStatus.needs_info: frozenset({ReportStatus.submitted, ReportStatus.withdrawn}),
    ReportStatus.published: frozenset(),
    ReportStatus.rejected: frozenset(),
    ReportStatus.duplicate: frozenset(),
    ReportStatus.withdrawn: frozenset(),
}


class PoliceConsent(StrEnum):
    """What the reporter allows the police: nothing (the default); the incident without
    anything about the reporter, for police analysts; or being contacted through the
    service about filing a police report (aangifte)."""

    none = "none"
    intelligence = "intelligence"
    contact = "contact"


class PartOfDay(StrEnum):
    morning = "morning"
    afternoon = "afternoon"
    evening = "evening"
    night = "night"


class Category(StrEnum):
    physical_violence = "physical_violence"
    sexual_violence = "sexual_violence"
    robbery = "robbery"
    refused_to_pay = "refused_to_pay"
    condom_removal = "condom_removal"
    threats = "threats"
    stalking = "stalking"
    filming_without_consent = "filming_without_consent"
    blackmail = "blackmail"
    fake_booking = "fake_booking"
    other = "other"


# How urgent a report is, for the moderators' queue: the worst of its categories.
CATEGORY_URGENCY: dict[Category, int] = {
    Category.sexual_violence: 3,
    Category.physical_violence: 3,
    Category.robbery: 2,
    Category.condom_removal: 2,
    Category.threats: 2,
    Category.stalking: 2,
    Category.blackmail: 2,
    Category.filming_without_consent: 2,
    Category.refused_to_pay: 1,
    Category.fake_booking: 1,
    Category.other: 1,
}


class Language(StrEnum):
    nl = "nl"
    en = "en"
    es = "es"
    ro = "ro"
    bg = "bg"
    hu = "hu"
    pl = "pl"
    pt = "pt"
    th = "th"


def _bytes_column(**kwargs: Any) -> Column[bytes]:
    return Column(LargeBinary, **kwargs)


class Report(SQLModel, table=True):
    # The moderators' queue: awaiting reports, most urgent, then oldest, first.
    __table_args__ = (Index("ix_report_queue", "status", "urgency", "submitted_at"),)

    id: int | None = SQLField(default=None, primary_key=True)
    receipt_hash: bytes = SQLField(sa_column=_bytes_column(nullable=False, unique=True))
    # Keyed hash of the form's one-time token, so a double tap does not file two reports.
    form_token_hash: bytes | None = SQLField(default=None, sa_column=_bytes_column(unique=True))
    status: str = SQLField(default=ReportStatus.submitted.value, max_length=16, index=True)
    region_code: str = SQLField(foreign_key="region.code", index=True, max_length=16)
    incident_date: date
    part_of_day: str = SQLField(max_length=16)
    categories: list[str] = SQLField(sa_column=Column(JSON, nullable=False))
    urgency: int
    what_happened_enc: bytes | None = SQLField(default=None, sa_column=_bytes_column())
    perpetrator_description_enc: bytes | None = SQLField(default=None, sa_column=_bytes_column())
    police_consent: str = SQLField(
        default=PoliceConsent.none.value,
        max_length=12,
        sa_column_kwargs={"server_default": PoliceConsent.none.value},
    )
    # When an admin's police export of it was approved (moderation/police): from then on
    # the consent can no longer be withdrawn.
    police_shared_at: datetime | None = SQLField(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    # Sent by an organisation on behalf of a worker who consented (organisations/), not by
    # the worker: moderators see it marked in the queue.
    third_party: bool = SQLField(default=False, sa_column_kwargs={"server_default": false()})
    language: str = SQLField(max_length=2)
    submitted_at: datetime = SQLField(sa_column=Column(DateTime(timezone=True), nullable=False))
    text_purged_at: datetime | None = SQLField(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    # Moderation: who holds the report, until when, and a counter every change bumps
    # so that a decision taken on an out-of-date view is refused.
    claimed_by_id: int | None = SQLField(default=None, foreign_key="moderator.id", index=True)
    claim_expires_at: datetime | None = SQLField(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    decided_at: datetime | None = SQLField(default=None, sa_column=Column(DateTime(timezone=True)))
    version: int = 1


class ReportIdentifier(SQLModel, table=True):
    """A reported person's phone, email, plate or handle: encrypted, plus its blind index."""

    __tablename__ = "report_identifier"

    id: int | None = SQLField(default=None, primary_key=True)
    report_id: int = SQLField(foreign_key="report.id", ondelete="CASCADE", index=True)
    kind: str = SQLField(max_length=8)
    value_enc: bytes = SQLField(sa_column=_bytes_column(nullable=False))
    blind_index: bytes = SQLField(sa_column=_bytes_column(nullable=False, index=True))


class MessageAuthor(StrEnum):
    moderator = "moderator"
    reporter = "reporter"  # an answer to a moderator's question
    addition = "addition"  # information the reporter added without being asked


class ReportMessage(SQLModel, table=True):
    """A moderator's question to the reporter, the reporter's answer, or information the
    reporter added later (encrypted; deleted with the report's text)."""

    __tablename__ = "report_message"

    id: int | None = SQLField(default=None, primary_key=True)
    report_id: int = SQLField(foreign_key="report.id", ondelete="CASCADE", index=True)
    author: str = SQLField(max_length=16)
    body_enc: bytes = SQLField(sa_column=_bytes_column(nullable=False))
    created_at: datetime = SQLField(sa_column=Column(DateTime(timezone=True), nullable=False))


PURPOSE_TEXT = encrypted_column(Report, "what_happened_enc", "report.what_happened")
PURPOSE_DESCRIPTION = encrypted_column(
    Report, "perpetrator_description_enc", "report.perpetrator_description"
)
PURPOSE_IDENTIFIER = encrypted_column(ReportIdentifier, "value_enc", "report_identifier.value")
PURPOSE_MESSAGE = encrypted_column(ReportMessage, "body_enc", "report_message.body")


# ---- what the API accepts ----------------------------------------------------------


def latest_date_anywhere() -> date:
    """Today where it is latest on Earth (UTC+14): never refuses someone's "today"."""
    return (datetime.now(UTC) + timedelta(hours=14)).date()


class PerpetratorIn(Strict):
    phones: list[str] = Field(
        default_factory=list,
        max_length=MAX_IDENTIFIERS,
        description="Phone numbers in any common format; national numbers are read "
        "in the deployment's default country (REDFLAG_DEFAULT_COUNTRY).",
        examples=[["06 12345678"]],
    )
    emails: list[str] = Field(default_factory=list, max_length=MAX_IDENTIFIERS)
    plates: list[str] = Field(default_factory=list, max_length=MAX_IDENTIFIERS)
    handles: list[str] = Field(
        default_factory=list,
        max_length=MAX_IDENTIFIERS,
        description="Names on ad sites or apps, or links to them",
    )
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)


def legacy_consent(consent_police: bool) -> PoliceConsent:
    """The old boolean's meaning: true allowed the police to see the report."""
    return PoliceConsent.intelligence if consent_police else PoliceConsent.none


class ReportCreate(Strict):
    """A report as a reporter sends it. Unknown fields are refused."""

    region: str = Field(
        max_length=16, description="Municipality code from /api/v1/regions", examples=["GM0106"]
    )
    incident_date: date = Field(description="When it happened; not in the future")
    part_of_day: PartOfDay
    categories: list[Category] = Field(min_length=1, max_length=len(Category))
    what_happened: str = Field(default="", max_length=MAX_TEXT)
    perpetrator: PerpetratorIn = Field(default_factory=PerpetratorIn)
    consent_police: bool | None = Field(
        default=None,
        deprecated=True,
        description="Use police_consent (true is intelligence, false is none); accepted until"
        " the next release",
    )
    police_consent: PoliceConsent | None = Field(
        default=None,
        description="What the police may have: none (the default), intelligence (the incident,"
        " nothing about you), or contact (the service may contact you about filing a report)",
    )
    language: Language = Language.en

    @field_validator("police_consent")
    @classmethod
    def _agrees_with_the_old_field(
        cls, value: PoliceConsent | None, info: ValidationInfo
    ) -> PoliceConsent | None:
        old = info.data.get("consent_police")
        if value is not None and old is not None and value != legacy_consent(old):
            raise PydanticCustomError(
                "consent_disagrees", "police_consent and consent_police disagree: send one"
            )
        return value

    @property
    def consent(self) -> PoliceConsent:
        """What the reporter allows, from police_consent or the old consent_police."""
        if self.police_consent is not None:
            return self.police_consent
        # Read past the deprecation warning: this is the one place that must read it.
        return legacy_consent(bool(self.__dict__["consent_police"]))

    @field_validator("incident_date")
    @classmethod
    def _not_in_future(cls, value: date) -> date:
        latest = latest_date_anywhere()
        if value > latest:
            raise PydanticCustomError("date_in_future", "the date cannot be in the future")
        if value < latest - OLDEST_INCIDENT:
            raise PydanticCustomError(
                "date_too_old", "the date is more than three years ago; check the year"
            )
        return value

    @field_validator("categories")
    @classmethod
    def _distinct(cls, value: list[Category]) -> list[Category]:
        return list(dict.fromkeys(value))


class ReportReceipt(BaseModel):
    receipt_code: str = Field(
        description="Shown once. Keep it: it is the only way back to the report.",
        examples=["K7QF-3MZP-XW4D"],
    )
    status: ReportStatus


class QuestionPublic(BaseModel):
    asked_on: date
    text: str
    answered: bool


class ReportStatusPublic(BaseModel):
    """What a receipt code shows. Deliberately nothing that could identify anyone:
    no text, no identifiers, no region, no exact times (tests/test_reports_api.py)."""

    status: ReportStatus
    submitted_on: date
    questions: list[QuestionPublic]
    added_on: list[date] = Field(
        default_factory=list, description="When the reporter added information (not what)"
    )
    can_reply: bool
    can_add: bool = Field(description="Whether information can still be added")
    can_withdraw: bool
    police_consent: PoliceConsent = Field(description="What the reporter allows the police")
    police_shared: bool = Field(
        description="Shared with the police already: the consent can no longer be withdrawn"
    )


class ReceiptCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receipt_code: str = Field(max_length=40, examples=["K7QF-3MZP-XW4D"])


class ReplyIn(ReceiptCodeIn):
    message: str = Field(min_length=1, max_length=MAX_MESSAGE)


class AddInformationIn(ReceiptCodeIn):
    message: str = Field(
        min_length=1,
        max_length=MAX_MESSAGE,
        description="Something the reporter remembered or learnt after sending the report",
    )
