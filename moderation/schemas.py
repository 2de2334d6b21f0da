"""What the moderation API takes and returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from alerts.models import AlertStatus, Severity
from app.deps import MAX_ROW_ID
from app.identifiers import IdentifierKind
from app.regions.models import RegionPublic
from app.reports.models import Category, Language, PartOfDay, PoliceConsent, ReportStatus
from app.schemas import Strict
from moderation.models import ModeratorPublic, Role

MAX_ALERT_TEXT = 480
MAX_NOTE = 1000
MAX_UPDATE_TEXT = 320

TEXTS_DESCRIPTION = (
    'The text in the subscribers\' languages, {"nl": ..., "en": ...}: each language\'s'
    " subscribers receive their own; a language left out falls back to `text`, the written"
    " text (see fallback_languages)"
)
AlertText = Annotated[str, Field(min_length=1, max_length=MAX_ALERT_TEXT)]
UpdateText = Annotated[str, Field(min_length=1, max_length=MAX_UPDATE_TEXT)]
FALLBACK_DESCRIPTION = (
    "The languages without a text of their own: their subscribers receive the written text"
)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (OAuth2's token type, not a secret)
    expires_in: int = Field(description="Seconds until the token expires")
    scope: str = Field(
        description='"moderate", or "totp-setup" when a required second factor must be set up first'
    )


class TotpSetupOut(BaseModel):
    secret: str = Field(description="Base32, for typing into an authenticator app")
    otpauth_uri: str


class TotpConfirmIn(Strict):
    code: str = Field(min_length=6, max_length=8)


# ---- queue and review -----------------------------------------------------------------------


class QueueItem(BaseModel):
    """A report in the queue: the facts to sort by, never its text."""

    id: int
    version: int
    status: ReportStatus
    urgency: int
    categories: list[Category]
    region: RegionPublic
    incident_date: date
    part_of_day: PartOfDay
    submitted_at: datetime
    age_hours: int
    claimed_by: str | None
    claim_expires_at: datetime | None
    matching_reports: int = Field(description="Other reports naming one of the same identifiers")
    matching_alerts: int = Field(description="Live alerts naming one of the same identifiers")
    added_information: int = Field(
        default=0, description="Times the reporter added information after sending the report"
    )
    third_party: bool = Field(
        default=False, description="Sent by an organisation, with the worker's consent"
    )


class FlagOut(BaseModel):
    start: int
    end: int
    kind: str = Field(
        description="phone, email, url, handle, address, postcode, name or workplace",
        examples=["name"],
    )
    text: str
    reported_identifier: bool = Field(
        description="One of the client's identifiers given with the report: not the reporter's"
    )


class IdentifierOut(BaseModel):
    kind: IdentifierKind
    value: str
    other_reports: list[int]
    live_alerts: list[str]


class MessageOut(BaseModel):
    author: str
    text: str
    at: datetime
    flags: list[FlagOut] = Field(
        default_factory=list,
        description="The redaction help on the reporter's answers and added information",
    )


class NoteOut(BaseModel):
    kind: str
    text: str
    by: str
    at: datetime


class RelatedAlert(BaseModel):
    ref: str
    status: AlertStatus
    severity: Severity
    incident_date: date
    regions: list[str]
    report_count: int


class RelatedReport(BaseModel):
    id: int
    status: ReportStatus
    incident_date: date
    region: str


class DuplicateCandidate(BaseModel):
    """A live alert the report may repeat: it names one of the report's identifiers, or
    covers its place."""

    ref: str
    status: AlertStatus
    incident_date: date
    regions: list[str]
    text: str = Field(description="The start of the alert's text")
    same_identifier: bool
    same_region: bool


class ReportReview(BaseModel):
    """The decrypted report, for the moderator holding it."""

    id: int
    version: int
    status: ReportStatus
    region: RegionPublic
    province: RegionPublic | None
    incident_date: date
    part_of_day: PartOfDay
    categories: list[Category]
    urgency: int
    police_consent: PoliceConsent = Field(
        description="none, intelligence (the incident, nothing about the reporter) or contact"
    )
    third_party: bool = Field(description="Sent by an organisation, with the worker's consent")
    language: str
    submitted_at: datetime
    claim_expires_at: datetime | None
    what_happened: str
    what_happened_flags: list[FlagOut]
    description: str | None
    description_flags: list[FlagOut]
    suggested_text: str
    identifiers: list[IdentifierOut]
    messages: list[MessageOut]
    notes: list[NoteOut]
    related_alerts: list[RelatedAlert]
    related_reports: list[RelatedReport]
    duplicate_candidates: list[DuplicateCandidate] = Field(
        default_factory=list, description="Live alerts this report may be a duplicate of"
    )


# ---- decisions ------------------------------------------------------------------------


class Decision(Strict):
    version: int = Field(
        ge=1,
        le=MAX_ROW_ID,
        description="The report's version when you read it; a stale one gets 409",
    )


class IdentifierIn(Strict):
    kind: IdentifierKind
    value: str = Field(min_length=1, max_length=200)


class AlertContent(Strict):
    text: str = Field(
        min_length=1,
        max_length=MAX_ALERT_TEXT,
        description="The written text: what every language without its own text receives",
    )
    texts: dict[Language, AlertText] = Field(
        default_factory=dict, max_length=len(Language), description=TEXTS_DESCRIPTION
    )
    severity: Severity
    regions: list[str] = Field(min_length=1, max_length=50)
    categories: list[Category] = Field(min_length=1)
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=20)


class PublishIn(Decision, AlertContent):
    expires_in_days: int = Field(default=90, ge=1, le=365)
    checked_flags: bool = Field(
        default=False,
        description="You checked that what the redaction help still flags in the text (a name,"
        " a street, a workplace, a number that is not the client's) is not the reporter's;"
        " without it such a text gets 422",
    )


class RejectIn(Decision):
    reason: str = Field(min_length=1, max_length=MAX_NOTE)


class RequestInfoIn(Decision):
    question: str = Field(min_length=1, max_length=MAX_NOTE)


class DuplicateIn(Decision):
    alert_ref: str = Field(min_length=1, max_length=16)


class SendBackIn(Strict):
    note: str = Field(
        min_length=1, max_length=MAX_NOTE, description="For the author: what to change"
    )


class ResubmitIn(AlertContent):
    """The alert as its author changed it after it was sent back; it waits for approval again."""

    checked_flags: bool = Field(
        default=False,
        description="You checked that what the redaction help flags in the texts is not the"
        " reporter's own; without it such a text gets 422, as when publishing",
    )


class RetractIn(Strict):
    reason: str = Field(min_length=1, max_length=MAX_NOTE)


class DecisionOut(BaseModel):
    report_id: int
    status: ReportStatus
    alert_ref: str | None = None
    alert_status: AlertStatus | None = None
    fallback_languages: list[str] = Field(default_factory=list, description=FALLBACK_DESCRIPTION)


# ---- alerts ---------------------------------------------------------------------------------


class SmsPreview(BaseModel):
    text: str
    characters: int
    encoding: str
    segments: int
    too_long: bool
    fallback: bool = Field(
        default=False, description="No text of its own: it carries the written text"
    )


class PreviewIn(AlertContent):
    incident_date: date | None = None
    part_of_day: PartOfDay | None = None


class PreviewOut(BaseModel):
    sms: dict[str, SmsPreview]
    recipients: int
    needs_approval: bool
    max_segments: int
    fallbacks: dict[str, int] = Field(
        default_factory=dict,
        description="Each language without its own text (falling back to the written text),"
        " with how many subscribers reading it the alert reaches",
    )
    warnings: list[str] = Field(
        default_factory=list, description="Worth a second look, but no reason to refuse"
    )


class AlertSummary(BaseModel):
    ref: str
    status: AlertStatus
    severity: Severity
    categories: list[Category]
    regions: list[str]
    incident_date: date
    created_at: datetime
    published_at: datetime | None
    expires_at: datetime
    report_count: int
    published_by: str | None
    approved_by: str | None
    needs_approval: bool
    sent_back: bool = Field(
        default=False, description="Waiting for its author to change it (see send-back)"
    )


class AlertUpdatePublic(BaseModel):
    number: int
    text: str
    texts: dict[str, str] = Field(default_factory=dict, description="The languages written for")
    created_at: datetime
    recipients: int = Field(description="Messages it was queued as")
    sms: dict[str, SmsPreview] = Field(description="What each language's subscribers received")


class DeliveryCount(BaseModel):
    """An alert's messages of one kind on one channel, by where they stand."""

    kind: str = Field(description="alert, update or retraction")
    channel: str
    waiting: int = Field(description="Not yet handed to the provider")
    sent: int = Field(description="Handed to the provider; no report of arrival yet")
    delivered: int
    failed: int = Field(description="Failed, or reported undelivered")
    cancelled: int = Field(description="Retracted before they went out")


class AlertDetail(AlertSummary):
    text: str
    texts: dict[str, str] = Field(default_factory=dict, description="The languages written for")
    region_codes: list[str]
    identifiers: list[IdentifierIn]
    sms: dict[str, SmsPreview]
    reports: list[int]
    notes: list[NoteOut]
    updates: list[AlertUpdatePublic]
    deliveries: list[DeliveryCount]
    sent_back_note: NoteOut | None = Field(
        default=None, description="Why an approver sent it back to its author"
    )


class AlertAction(BaseModel):
    ref: str
    status: AlertStatus


class UpdateIn(Strict):
    text: str = Field(
        min_length=1,
        max_length=MAX_UPDATE_TEXT,
        description="The news, as subscribers will read it: no details of the reporter",
    )
    texts: dict[Language, UpdateText] = Field(
        default_factory=dict, max_length=len(Language), description=TEXTS_DESCRIPTION
    )
    checked_flags: bool = Field(
        default=False,
        description="You checked that what the redaction help flags in the texts (a name, a"
        " street, a number that is not the client's) is not the reporter's own; without it"
        " such a text gets 422, as when publishing",
    )


class UpdateOut(BaseModel):
    ref: str
    number: int = Field(description="1 for the alert's first update, and so on")
    recipients: int = Field(description="Messages queued: everyone the alert went to")
    fallback_languages: list[str] = Field(default_factory=list, description=FALLBACK_DESCRIPTION)


class Phrase(BaseModel):
    """A common sentence of alerts, in every language, to help write the others."""

    key: str
    texts: dict[str, str] = Field(description="{lang: the sentence}, in all nine languages")


# ---- accounts -------------------------------------------------------------------------------


# Accounts for organisations' people are made under /api/v1/moderation/organisations.
StaffRole = Literal[Role.moderator, Role.admin]


class ModeratorCreate(Strict):
    username: str = Field(min_length=3, max_length=40)
    password: str = Field(min_length=1, max_length=200)
    role: StaffRole = Role.moderator


class RoleIn(Strict):
    role: StaffRole


class PasswordChangeIn(Strict):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=200)


class PasswordResetOut(BaseModel):
    moderator: ModeratorPublic
    one_time_password: str = Field(
        description="Shown once: hand it over in person; it only allows choosing a new password"
    )
