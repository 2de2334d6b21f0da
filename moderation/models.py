"""Moderators, the audit log, and who decided what about which alert."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, DateTime, LargeBinary, false
from sqlmodel import Field, SQLModel

from app.rotation import encrypted_column


class Role(StrEnum):
    moderator = "moderator"
    admin = "admin"
    # A person of an organisation (organisations/): logs in like a moderator, but never
    # sees the queue; only /org and /api/v1/org.
    organisation = "organisation"


STAFF_ROLES = (Role.moderator, Role.admin)


def _when(nullable: bool) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


def _bytes(**kwargs: Any) -> Column[bytes]:
    return Column(LargeBinary, **kwargs)


class Moderator(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=40, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    active: bool = True
    totp_secret_enc: bytes | None = Field(default=None, sa_column=_bytes())
    totp_confirmed: bool = False
    # Every token carries the number it was issued under; logging out, a new password or
    # deactivation moves it on, and every earlier token of the account stops working.
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Set by an admin's password reset: the one-time password only allows choosing a new one.
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # The last time wrong passwords for this account came from many clients at once.
    crowd_guess_at: datetime | None = Field(default=None, sa_column=_when(True))
    created_at: datetime = Field(sa_column=_when(False))


class AuditEntry(SQLModel, table=True):
    """One action by one moderator. Append-only: never updated, never deleted (the ORM
    refuses, and database triggers refuse too). Never holds report text or identifiers."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_when(False))
    moderator_id: int | None = Field(default=None, foreign_key="moderator.id", index=True)
    action: str = Field(max_length=40, index=True)
    target_type: str = Field(max_length=16)
    target_id: str = Field(max_length=40)


class AlertReview(SQLModel, table=True):
    """Who published an alert from which report, and who approved it (four eyes)."""

    __tablename__ = "alert_review"

    alert_id: int = Field(foreign_key="alert.id", ondelete="CASCADE", primary_key=True)
    report_id: int | None = Field(default=None, foreign_key="report.id", ondelete="SET NULL")
    published_by_id: int = Field(foreign_key="moderator.id")
    approved_by_id: int | None = Field(default=None, foreign_key="moderator.id")
    needs_approval: bool = False


class ModerationNote(SQLModel, table=True):
    """A moderator's reason for a rejection or retraction: for colleagues, encrypted."""

    __tablename__ = "moderation_note"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int | None = Field(
        default=None, foreign_key="report.id", ondelete="CASCADE", index=True
    )
    alert_id: int | None = Field(
        default=None, foreign_key="alert.id", ondelete="CASCADE", index=True
    )
    moderator_id: int = Field(foreign_key="moderator.id")
    kind: str = Field(max_length=16)
    body_enc: bytes = Field(sa_column=_bytes(nullable=False))
    created_at: datetime = Field(sa_column=_when(False))


PURPOSE_TOTP = encrypted_column(Moderator, "totp_secret_enc", "moderator.totp_secret")
PURPOSE_NOTE = encrypted_column(ModerationNote, "body_enc", "moderation_note.body")


class ModeratorPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    active: bool
    totp_enabled: bool
    must_change_password: bool = False  # an admin reset it: a new one at the next login
    crowd_guess_at: datetime | None = None  # wrong passwords from many clients, last time
