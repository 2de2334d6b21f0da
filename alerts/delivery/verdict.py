"""The provider's verdict on a number, in the answer to a send (the worker) or in a later
delivery report (Twilio's status callback): the one place that acts on it.

Opted out, or (web push) the browser's subscription is gone: the subscriber is removed,
as if they had sent STOP to us. Cannot receive SMS:
the subscriber is marked unreachable, and no alert is written for them again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from alerts.delivery import outbox
from alerts.delivery.providers import PUSH_GONE
from alerts.models import Subscriber
from alerts.subscriptions import service as subscriptions
from app.db import utcnow

# Twilio's error codes (https://www.twilio.com/docs/api/errors)
OPTED_OUT = {"21610"}  # the recipient sent STOP to this sender
GONE = OPTED_OUT | {PUSH_GONE}  # ... or, by push, the subscription answers 404 or 410
# In the answer to a send: invalid, not a mobile, unroutable.
UNREACHABLE_WHEN_SENT = frozenset({"21211", "21614", "21612", "21408"})
# In a delivery report, later: unknown destination, landline or unreachable carrier.
UNREACHABLE_WHEN_REPORTED = frozenset({"30005", "30006"})


def apply(
    session: Session,
    *,
    subscriber_id: int,
    code: str | None,
    now: datetime,
    unreachable: frozenset[str] = UNREACHABLE_WHEN_SENT,
) -> None:
    """Act on what the provider's error `code` says about the subscriber's number (most
    codes say nothing about it); `unreachable`: the codes that mean it cannot receive SMS
    where this code came from."""
    if code in GONE:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is not None:
            subscriptions.remove(session, subscriber=subscriber)
    elif code in unreachable:
        session.execute(
            update(Subscriber).where(col(Subscriber.id) == subscriber_id).values(unreachable_at=now)
        )


def status_report(
    session: Session, *, provider_id: str, status: str, error_code: str | None
) -> None:
    """A provider's delivery report: the message's status moves on, and the verdict on its
    number (if the report gives one) is acted on."""
    found = outbox.apply_status(
        session, provider_id=provider_id, status=status, error_code=error_code
    )
    if found is not None and found.subscriber_id is not None and error_code is not None:
        apply(
            session,
            subscriber_id=found.subscriber_id,
            code=error_code,
            now=utcnow(),
            unreachable=UNREACHABLE_WHEN_REPORTED,
        )
