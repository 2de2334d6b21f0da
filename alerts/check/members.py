"""Member tokens: a subscriber who proved their number or address may check numbers.

Short-lived JWTs (HS256 only) with their own audience, so a member token is never
mistaken for a moderator's and the other way round.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from jose import JWTError, jwt
from sqlmodel import Session

from alerts.models import Subscriber
from app.db import utcnow
from app.errors import Unauthorized
from app.settings import Settings

AUDIENCE = "redflag-member"
ALGORITHM = "HS256"


def issue(subscriber_id: int, settings: Settings) -> tuple[str, int]:
    now = utcnow()
    lifetime = timedelta(minutes=settings.member_token_minutes)
    claims = {
        "sub": str(subscriber_id),
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, _secret(settings), algorithm=ALGORITHM), int(lifetime.total_seconds())


def member(session: Session, token: str, settings: Settings) -> Subscriber:
    """The confirmed subscriber behind a member token; a subscriber who left has none."""
    return confirmed(session, claimed_id(token, settings))


def claimed_id(token: str, settings: Settings) -> int:
    """The subscriber id a valid, unexpired member token names; no database needed."""
    try:
        claims = jwt.decode(
            token,
            _secret(settings),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={f"require_{c}": True for c in ("exp", "iat", "sub", "aud")},
        )
        return int(claims["sub"])
    except (JWTError, ValueError, KeyError):
        raise _signed_out() from None


def confirmed(session: Session, subscriber_id: int) -> Subscriber:
    """The subscriber a token named, if still subscribed and confirmed."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.confirmed_at is None:
        raise _signed_out()
    return subscriber


def _signed_out() -> Unauthorized:
    return Unauthorized("Sign in again: the member token is invalid or has expired.")


def _secret(settings: Settings) -> str:
    assert settings.jwt_secret is not None
    return settings.jwt_secret.get_secret_value()
