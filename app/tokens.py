"""Signed tokens (JWT, HS256 only) for everyone who signs in: moderators and members.

Each kind of token has its own audience, so a member's token is never taken for a
moderator's and the other way round. A token carries ids and roles, never a contact.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from jose import JWTError, jwt

from app.db import utcnow
from app.settings import Settings

ALGORITHM = "HS256"
REQUIRED = ("exp", "iat", "sub", "jti", "aud")


class InvalidToken(Exception):
    """Bad signature, wrong audience, expired, or a required claim missing."""


def issue(
    *, subject: int, audience: str, minutes: int, settings: Settings, **claims: Any
) -> tuple[str, int]:
    """A signed token for `subject` and its lifetime in seconds."""
    now = utcnow()
    lifetime = timedelta(minutes=minutes)
    payload = {
        **claims,
        "sub": str(subject),
        "aud": audience,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(payload, _secret(settings), algorithm=ALGORITHM), int(
        lifetime.total_seconds()
    )


def decode(token: str, *, audience: str, settings: Settings) -> dict[str, Any]:
    """The claims of a valid, unexpired token for `audience`; InvalidToken otherwise.
    Only HS256 is accepted: no "none", no other algorithm."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _secret(settings),
            algorithms=[ALGORITHM],
            audience=audience,
            options={f"require_{claim}": True for claim in REQUIRED},
        )
        int(claims["sub"])
    except (JWTError, KeyError, ValueError, TypeError):
        raise InvalidToken from None
    return claims


def _secret(settings: Settings) -> str:
    assert settings.jwt_secret is not None
    return settings.jwt_secret.get_secret_value()
