"""What the client check takes and answers, and the member token that opens it."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from alerts.models import Severity
from app.reports.models import Category
from app.schemas import Strict

NOT_A_GUARANTEE = (
    "No reports is not a guarantee that a client is safe: trust your instincts, "
    "and let someone know where you are."
)
WARNED = (
    "Others have warned about this number: read the alerts. If you meet this client anyway, "
    "tell someone you trust where you are."
)


class CheckIn(Strict):
    number: str = Field(
        min_length=1, max_length=40, description="The client's phone number, any format"
    )


TEXTS = "The text in the languages it was written for; the other languages read `text`"


class CheckedUpdate(BaseModel):
    """News a moderator added to the alert later ("seen again in a grey van")."""

    on: date
    text: str
    texts: dict[str, str] = Field(default_factory=dict, description=TEXTS)


class CheckedAlert(BaseModel):
    ref: str
    severity: Severity
    incident_date: date
    regions: list[str]
    categories: list[Category]
    text: str
    texts: dict[str, str] = Field(default_factory=dict, description=TEXTS)
    report_count: int
    updates: list[CheckedUpdate] = Field(default_factory=list, description="Oldest first")


class CheckResult(BaseModel):
    number: str = Field(description="The number as understood (E.164)")
    number_masked: str
    found: bool
    alerts: list[CheckedAlert]
    notice: str = Field(description="What the answer means for a booking, found or not")


class MemberToken(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (OAuth2's token type, not a secret)
    expires_in: int
