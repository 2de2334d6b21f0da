"""An objection: what is objected to (by blind index only), the objector's words and
contact (encrypted, deleted at the decision), and the answer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime, LargeBinary
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from app.identifiers import IdentifierKind
from app.reports.models import Language
from app.rotation import encrypted_column
from app.schemas import Strict

MAX_REASON = 2000
MAX_ANSWER = 2000


class ObjectionStatus(StrEnum):
    received = "received"
    upheld = "upheld"
    partly_upheld = "partly_upheld"
    rejected = "rejected"


OUTCOMES = (ObjectionStatus.upheld, ObjectionStatus.partly_upheld, ObjectionStatus.rejected)


def _when(nullable: bool) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


def _bytes(**kwargs: Any) -> Column[bytes]:
    return Column(LargeBinary, **kwargs)


class Objection(SQLModel, table=True):
    id: int | None = SQLField(default=None, primary_key=True)
    case_hash: bytes = SQLField(sa_column=_bytes(nullable=False, unique=True))
    kind: str = SQLField(max_length=8)
    # The identifier's blind index, as alerts and reports keep it: enough to find where it
    # is listed, and never the identifier itself.
    blind_index: bytes = SQLField(sa_column=_bytes(nullable=False, index=True))
    language: str = SQLField(max_length=2)
    reason_enc: bytes | None = SQLField(default=None, sa_column=_bytes())  # gone at decision
    contact_enc: bytes | None = SQLField(default=None, sa_column=_bytes())  # gone at decision
    status: str = SQLField(default=ObjectionStatus.received.value, max_length=16, index=True)
    answer_enc: bytes | None = SQLField(default=None, sa_column=_bytes())
    received_at: datetime = SQLField(sa_column=_when(False))
    deadline_at: datetime = SQLField(sa_column=_when(False))
    decided_at: datetime | None = SQLField(default=None, sa_column=_when(True))


PURPOSE_REASON = encrypted_column(Objection, "reason_enc", "objection.reason")
PURPOSE_CONTACT = encrypted_column(Objection, "contact_enc", "objection.contact")
PURPOSE_ANSWER = encrypted_column(Objection, "answer_enc", "objection.answer")


# ---- what the API takes and gives -----------------------------------------------------------


class ObjectionIn(Strict):
    kind: IdentifierKind
    value: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=MAX_REASON)
    language: Language = Language.en
    contact: str | None = Field(
        default=None, max_length=200, description="An email address or phone number, optional"
    )


class CaseReceipt(BaseModel):
    case_code: str = Field(description="Shown once: the only way to read the answer")
    status: ObjectionStatus


class CaseStatus(BaseModel):
    status: ObjectionStatus
    answer: str | None = Field(description="The admins' answer, once decided")
    deadline: datetime


class Match(BaseModel):
    alert_ref: str | None
    report_id: int | None


class ObjectionItem(BaseModel):
    id: int
    received_at: datetime
    deadline: datetime
    late: bool = Field(description="Past its deadline and not decided")
    status: ObjectionStatus
    kind: IdentifierKind
    language: str
    reason: str | None = Field(description="The objector's words; deleted at the decision")
    contact: str | None = Field(description="How to reach the objector; deleted at the decision")
    matches: list[Match]


class DecisionIn(Strict):
    outcome: ObjectionStatus = Field(description="upheld, partly_upheld or rejected")
    reason: str = Field(
        min_length=1, max_length=MAX_ANSWER, description="The answer to the objector"
    )
