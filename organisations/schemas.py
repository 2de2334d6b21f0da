"""What /api/v1/org takes and answers (the tables and the admins' models: models.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from alerts import membership
from app.reports.models import Language, ReportCreate
from app.schemas import Strict


class InviteIn(Strict):
    valid_days: int = Field(
        default=membership.INVITE_DAYS,
        ge=membership.INVITE_DAYS_RANGE[0],
        le=membership.INVITE_DAYS_RANGE[1],
        description="How many days the code works",
    )


class InviteOut(BaseModel):
    code: str = Field(description="Shown this once: only a keyed hash of it is stored")
    expires_at: datetime


class ThirdPartyReportIn(ReportCreate):
    """A report sent for a worker: the public report's fields, and the worker's consent."""

    worker_consent: bool = Field(
        default=False,
        description="The worker agreed to this report being sent for them: must be true",
        validate_default=True,
    )

    @field_validator("worker_consent")
    @classmethod
    def _consented(cls, value: bool) -> bool:
        if not value:
            raise PydanticCustomError("consent_missing", "the worker must agree to this report")
        return value


class AlertEmailIn(Strict):
    email: str = Field(
        min_length=3, max_length=254, description="Where the organisation wants its regions' alerts"
    )
    language: Language = Field(description="Of the confirmation email and the alerts")
