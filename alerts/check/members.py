"""Member tokens: a subscriber who proved their number or address may check numbers.

Short-lived tokens (app.tokens) with their own audience, so a member token is never
mistaken for a moderator's and the other way round.
"""

from __future__ import annotations

from sqlmodel import Session

from alerts.models import Channel, CodePurpose, Membership, Subscriber
from alerts.subscriptions import service as subscriptions
from app import tokens
from app.crypto import Crypto
from app.errors import Forbidden, Unauthorized
from app.settings import Settings

AUDIENCE = "redflag-member"


def issue(subscriber_id: int, settings: Settings) -> tuple[str, int]:
    """A member token for this subscriber, and its lifetime in seconds."""
    return tokens.issue(
        subject=subscriber_id,
        audience=AUDIENCE,
        minutes=settings.member_token_minutes,
        settings=settings,
    )


def sign_in(
    session: Session,
    *,
    channel: Channel,
    contact: str,
    code: str,
    crypto: Crypto,
    settings: Settings,
) -> tuple[str, int]:
    """A member token for the subscriber whose sign-in code this is; CodeRejected, with
    the attempt counted, otherwise."""
    subscriber, _ = subscriptions.redeem(
        session,
        purpose=CodePurpose.login,
        channel=channel,
        contact=contact,
        code=code,
        crypto=crypto,
        settings=settings,
    )
    assert subscriber.id is not None
    return issue(subscriber.id, settings)


def member(session: Session, token: str, settings: Settings) -> Subscriber:
    """The confirmed subscriber behind a member token; a subscriber who left has none."""
    return confirmed(session, claimed_id(token, settings))


def claimed_id(token: str, settings: Settings) -> int:
    """The subscriber id a valid, unexpired member token names; no database needed."""
    try:
        claims = tokens.decode(token, audience=AUDIENCE, settings=settings)
    except tokens.InvalidToken:
        raise _signed_out() from None
    return int(claims["sub"])


def confirmed(session: Session, subscriber_id: int) -> Subscriber:
    """The subscriber a token named, if still subscribed and confirmed."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.confirmed_at is None:
        raise _signed_out()
    return subscriber


class NotAMember(Forbidden):
    """A pending or suspended member asked for a check: answered before the number is read,
    so the answer is the same whatever the number."""

    def __init__(self, state: Membership) -> None:
        super().__init__(
            "Your membership is suspended: checking numbers is not possible."
            if state is Membership.suspended
            else "Your membership is not verified yet: checking numbers is for verified members."
            " Ask an outreach or health project that knows you, or a moderator, for an invite"
            " code, and sign up again with it (`invite_code`)."
        )
        self.state = state


def require_verified(subscriber: Subscriber) -> Subscriber:
    """The subscriber, if a verified member; NotAMember otherwise."""
    if subscriber.membership != Membership.verified:
        raise NotAMember(Membership(subscriber.membership))
    return subscriber


def _signed_out() -> Unauthorized:
    return Unauthorized("Sign in again: the member token is invalid or has expired.")
