"""What the subscriptions API takes and answers; member sign-in (alerts/check) takes the
same contact and code."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from alerts.membership import InviteOutcome
from alerts.models import Channel, Membership, Severity
from app.regions.models import RegionPublic
from app.reports.models import Language
from app.schemas import Strict

ACCEPTED = "If this number or address can be used, a message is on its way."

# The error answers every route here may give, for the API's description.
RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "A field is missing or wrong; `detail` names each field and problem"},
    429: {"description": "Too many requests from this client"},
    503: {"description": "The service cannot answer right now (its database is unreachable)"},
}


class ContactIn(Strict):
    channel: Channel
    contact: str = Field(
        min_length=3, max_length=254, description="A mobile number, or an email address"
    )


class PushKeysIn(Strict):
    p256dh: str = Field(min_length=80, max_length=100, description="The browser's P-256 key")
    auth: str = Field(min_length=16, max_length=30, description="The browser's auth secret")


class PushIn(Strict):
    """What `PushSubscription.toJSON()` gives in a browser (expirationTime may come too)."""

    endpoint: str = Field(min_length=12, max_length=1024, description="The push service URL")
    keys: PushKeysIn
    expirationTime: int | None = Field(default=None, description="Ignored")  # noqa: N815


class SubscribeIn(Strict):
    channel: Channel
    contact: str | None = Field(
        default=None,
        min_length=3,
        max_length=254,
        description="A mobile number, or an email address (not for push)",
    )
    push: PushIn | None = Field(
        default=None, description="The browser's push subscription (channel push only)"
    )
    regions: list[str] = Field(min_length=1, max_length=20, description="Region codes, any level")
    language: Language = Language.nl
    min_severity: Severity | None = Field(
        default=None, description="Only alerts at least this severe"
    )
    invite_code: str | None = Field(
        default=None,
        max_length=20,
        description="An invite code (like K7QF-3MZP): verified at once when confirmed",
    )


class CodeIn(ContactIn):
    code: str = Field(min_length=4, max_length=64)


class LeaveIn(ContactIn):
    code: str | None = Field(
        default=None, max_length=64, description="Leave out to get a code first"
    )


class Accepted(BaseModel):
    detail: str = ACCEPTED


class SubscriptionOut(BaseModel):
    channel: Channel
    regions: list[RegionPublic]
    language: Language
    min_severity: Severity
    membership: Membership = Field(
        description="Only a verified member receives alerts and check results"
    )
    invite: InviteOutcome | None = Field(
        default=None, description="What became of the invite code given at sign-up, if any"
    )


class PushSubscriptionOut(SubscriptionOut):
    apply_url: str | None = Field(
        default=None, description="A pending member's link to apply for membership"
    )


class PushLeaveIn(Strict):
    endpoint: str = Field(min_length=12, max_length=1024, description="The push service URL")


class PushRenewIn(Strict):
    """What the service worker sends when the browser renews its subscription by itself
    (`pushsubscriptionchange`): the old one, proved by its auth secret, and the new."""

    old_endpoint: str = Field(min_length=12, max_length=1024)
    old_auth: str = Field(min_length=16, max_length=30, description="The old auth secret")
    push: PushIn
