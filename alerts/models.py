"""Alerts and the people who receive them.

An alert is what a moderator made of one or more reports: a redacted text (encrypted),
a severity, regions, categories, and the reported person's identifiers (encrypted, plus
blind indexes so a client check can match them). Subscribers are a channel and a
contact, encrypted, with a blind index for look-ups; never a name.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.rotation import encrypted_column


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class AlertStatus(StrEnum):
    pending_approval = "pending_approval"
    published = "published"
    expired = "expired"
    retracted = "retracted"


def _bytes(**kwargs: Any) -> Column[bytes]:
    return Column(LargeBinary, **kwargs)


def _when(nullable: bool) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class Alert(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=16, unique=True)
    status: str = Field(max_length=20, index=True)
    severity: str = Field(max_length=10)
    # As written: what every language without a text of its own receives.
    text_enc: bytes = Field(sa_column=_bytes(nullable=False))
    # The languages written for, as encrypted JSON {lang: text}; None when only `text` was.
    texts_enc: bytes | None = Field(default=None, sa_column=_bytes())
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    incident_date: date
    part_of_day: str | None = Field(default=None, max_length=16)
    report_count: int = 1
    created_at: datetime = Field(sa_column=_when(False))
    published_at: datetime | None = Field(default=None, sa_column=_when(True))
    expires_at: datetime = Field(sa_column=_when(False))
    retracted_at: datetime | None = Field(default=None, sa_column=_when(True))
    retract_reason_enc: bytes | None = Field(default=None, sa_column=_bytes())


class AlertUpdate(SQLModel, table=True):
    """News about a published alert (the client was seen again, a correction): sent to
    everyone the alert went to. Numbered within its alert: 1, 2, ..."""

    __tablename__ = "alert_update"
    __table_args__ = (UniqueConstraint("alert_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", ondelete="CASCADE")
    number: int
    text_enc: bytes = Field(sa_column=_bytes(nullable=False))
    texts_enc: bytes | None = Field(default=None, sa_column=_bytes())  # as Alert.texts_enc
    created_at: datetime = Field(sa_column=_when(False))


class AlertRegion(SQLModel, table=True):
    __tablename__ = "alert_region"

    alert_id: int = Field(foreign_key="alert.id", ondelete="CASCADE", primary_key=True)
    region_code: str = Field(foreign_key="region.code", primary_key=True, max_length=16, index=True)


class AlertIdentifier(SQLModel, table=True):
    __tablename__ = "alert_identifier"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=8)
    value_enc: bytes = Field(sa_column=_bytes(nullable=False))
    blind_index: bytes = Field(sa_column=_bytes(nullable=False, index=True))


class AlertReport(SQLModel, table=True):
    """The reports an alert stands on: the one it was published from, and duplicates."""

    __tablename__ = "alert_report"

    alert_id: int = Field(foreign_key="alert.id", ondelete="CASCADE", primary_key=True)
    report_id: int = Field(
        foreign_key="report.id", ondelete="CASCADE", primary_key=True, index=True
    )


class Channel(StrEnum):
    sms = "sms"
    email = "email"
    # Web push: the "contact" is the browser's push subscription, {"endpoint", "keys"} as
    # JSON, encrypted like any contact; its blind index is the endpoint's.
    push = "push"


class Membership(StrEnum):
    """Where a subscriber stands: only a verified member receives alerts and check results.
    A removed member's row is deleted (as STOP does); "removed" names that in the audit log."""

    pending = "pending"
    verified = "verified"
    suspended = "suspended"
    removed = "removed"


class VerifiedHow(StrEnum):
    invite = "invite"  # an invite code from an organisation or a moderator
    application = "application"  # a moderator decided their application
    moderator = "moderator"  # a moderator verified them directly
    migration = "migration"  # subscribed before membership existed (migration 0010)
    open = "open"  # REDFLAG_MEMBERSHIP=open: confirming was enough


class Subscriber(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "contact_index"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=8)
    contact_enc: bytes = Field(sa_column=_bytes(nullable=False))
    contact_index: bytes = Field(sa_column=_bytes(nullable=False))
    language: str = Field(max_length=2)
    min_severity_rank: int = 0  # Severity.rank: 0 receives everything
    created_at: datetime = Field(sa_column=_when(False))
    confirmed_at: datetime | None = Field(default=None, sa_column=_when(True))
    # The provider said the address cannot receive (an invalid or landline number).
    unreachable_at: datetime | None = Field(default=None, sa_column=_when(True))
    # Membership: the state, and how it was verified: when, which way, by whom ("moderator:3",
    # later "organisation:5"). Never the evidence.
    membership: str = Field(
        default=Membership.pending.value,
        max_length=10,
        index=True,
        sa_column_kwargs={"server_default": Membership.pending.value},
    )
    verified_at: datetime | None = Field(default=None, sa_column=_when(True))
    verified_how: str | None = Field(default=None, max_length=12)
    verified_by: str | None = Field(default=None, max_length=24)


class Invite(SQLModel, table=True):
    """An invite code: whoever signs up with it is verified at once. Single use, expires.
    Only a keyed hash of the code is stored; who used it is not."""

    id: int | None = Field(default=None, primary_key=True)
    code_hash: bytes = Field(sa_column=_bytes(nullable=False, unique=True))
    created_at: datetime = Field(sa_column=_when(False))
    expires_at: datetime = Field(sa_column=_when(False))
    used_at: datetime | None = Field(default=None, sa_column=_when(True))
    issued_by: str = Field(max_length=24)  # "moderator:3" (later "organisation:5")


class Application(SQLModel, table=True):
    """A pending subscriber's application: what lets moderators see that they work (a link
    to an ad, a project that knows them, a few words), encrypted. One per subscriber; the
    row is deleted at the moderator's decision, or after REDFLAG_APPLICATION_DAYS."""

    id: int | None = Field(default=None, primary_key=True)
    subscriber_id: int = Field(foreign_key="subscriber.id", ondelete="CASCADE", unique=True)
    evidence_enc: bytes = Field(sa_column=_bytes(nullable=False))
    received_at: datetime = Field(sa_column=_when(False))


class CodePurpose(StrEnum):
    confirm = "confirm"  # a new subscription, or new regions for an existing one
    login = "login"  # a member signing in for the client check
    leave = "leave"  # unsubscribing through the API or the web page
    apply = "apply"  # a pending subscriber's link to the application form (web, SMS)


class OneTimeCode(SQLModel, table=True):
    """A short-lived code (SMS) or link token (email), stored as a keyed hash only."""

    __tablename__ = "one_time_code"
    __table_args__ = (UniqueConstraint("subscriber_id", "purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    subscriber_id: int = Field(foreign_key="subscriber.id", ondelete="CASCADE")
    purpose: str = Field(max_length=8)
    code_hash: bytes = Field(sa_column=_bytes(nullable=False))
    attempts: int = 0
    expires_at: datetime = Field(sa_column=_when(False))
    # What confirming will change: {"regions": [...], "language": "nl", "min_severity_rank": 0}
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class MessageKind(StrEnum):
    alert = "alert"
    update = "update"
    retraction = "retraction"
    code = "code"  # a one-off message (a code or a link) to one subscriber, with no alert


class DeliveryStatus(StrEnum):
    pending = "pending"  # due at due_at
    sending = "sending"  # leased to a worker until due_at
    sent = "sent"  # accepted by the provider
    delivered = "delivered"  # the provider says it arrived
    undelivered = "undelivered"
    failed = "failed"  # permanently, or out of time
    cancelled = "cancelled"  # retracted before it went out


# A worker may claim a delivery that is pending (due at due_at) or whose lease ran out.
CLAIMABLE_STATUSES = (DeliveryStatus.pending.value, DeliveryStatus.sending.value)
CLAIMABLE = "status IN ({})".format(", ".join(f"'{s}'" for s in CLAIMABLE_STATUSES))


class Delivery(SQLModel, table=True):
    """The outbox: one row per recipient and message, written with the alert itself; or a
    one-off message (kind "code": no alert, its own text encrypted), written by the request
    that asked for it, so that no request waits for a provider."""

    __table_args__ = (
        UniqueConstraint("alert_id", "subscriber_id", "channel", "kind", "update_no"),
        # Only the rows a worker may claim, in the order it claims them: a claim reads its
        # batch off the index instead of sorting every pending row each time.
        Index(
            "ix_delivery_due",
            "due_at",
            postgresql_where=text(CLAIMABLE),
            sqlite_where=text(CLAIMABLE),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int | None = Field(
        default=None, foreign_key="alert.id", ondelete="CASCADE", index=True
    )
    subscriber_id: int | None = Field(
        default=None, foreign_key="subscriber.id", ondelete="SET NULL", index=True
    )
    channel: str = Field(max_length=8)
    kind: str = Field(max_length=12)
    text_enc: bytes | None = Field(default=None, sa_column=_bytes())  # of a one-off message
    update_no: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # of an update
    status: str = Field(max_length=12)
    attempts: int = 0
    due_at: datetime | None = Field(default=None, sa_column=_when(True))
    provider_id: str | None = Field(default=None, max_length=64, index=True)
    error_code: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_column=_when(False))
    sent_at: datetime | None = Field(default=None, sa_column=_when(True))
    updated_at: datetime = Field(sa_column=_when(False))


class DeliveryTally(SQLModel, table=True):
    """How many messages an alert sent, by channel, kind and outcome: what stays when the
    delivery rows themselves are pruned (app/retention.py)."""

    __tablename__ = "delivery_tally"

    alert_id: int = Field(foreign_key="alert.id", ondelete="CASCADE", primary_key=True)
    channel: str = Field(max_length=8, primary_key=True)
    kind: str = Field(max_length=12, primary_key=True)
    status: str = Field(max_length=12, primary_key=True)
    count: int


class ProcessedWebhook(SQLModel, table=True):
    """Inbound SMS already handled (by a keyed hash of Twilio's message id): replays do nothing."""

    __tablename__ = "processed_webhook"

    key_hash: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    received_at: datetime = Field(sa_column=_when(False))


class SubscriberRegion(SQLModel, table=True):
    __tablename__ = "subscriber_region"

    subscriber_id: int = Field(foreign_key="subscriber.id", ondelete="CASCADE", primary_key=True)
    region_code: str = Field(foreign_key="region.code", primary_key=True, max_length=16, index=True)


PURPOSE_ALERT_TEXT = encrypted_column(Alert, "text_enc", "alert.text")
PURPOSE_UPDATE_TEXT = encrypted_column(AlertUpdate, "text_enc", "alert_update.text")
PURPOSE_ALERT_TEXTS = encrypted_column(Alert, "texts_enc", "alert.texts")
PURPOSE_UPDATE_TEXTS = encrypted_column(AlertUpdate, "texts_enc", "alert_update.texts")
PURPOSE_RETRACT_REASON = encrypted_column(Alert, "retract_reason_enc", "alert.retract_reason")
PURPOSE_ALERT_IDENTIFIER = encrypted_column(AlertIdentifier, "value_enc", "alert_identifier.value")
PURPOSE_CONTACT = encrypted_column(Subscriber, "contact_enc", "subscriber.contact")
PURPOSE_MESSAGE_TEXT = encrypted_column(Delivery, "text_enc", "delivery.text")
PURPOSE_APPLICATION = encrypted_column(Application, "evidence_enc", "application.evidence")
