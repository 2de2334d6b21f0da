"""Passwords (Argon2), moderators' access tokens (app.tokens, audience "redflag-moderator"),
CSRF tokens for the /mod forms, and second factors (TOTP)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from functools import cache

import pyotp
from pwdlib import PasswordHash

from app import tokens
from app.settings import Settings
from moderation.models import Moderator

AUDIENCE = "redflag-moderator"  # a member's token (alerts) has its own audience
SCOPE_FULL = "moderate"
SCOPE_TOTP_SETUP = "totp-setup"  # only enough to set up a required second factor
SCOPE_PASSWORD = "password-change"  # noqa: S105 (a scope): only enough to choose a password
MIN_PASSWORD = 12


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()  # Argon2id


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Always does the work of one Argon2 check, so unknown users take as long as known ones."""
    if password_hash is None:
        _hasher().verify(password, _dummy_hash())
        return False
    return _hasher().verify(password, password_hash)


@cache
def _dummy_hash() -> str:
    return hash_password(uuid.uuid4().hex)


@dataclass(frozen=True)
class TokenClaims:
    moderator_id: int
    role: str
    session_id: str  # stays the same across refreshes; CSRF tokens hang on it
    scope: str
    expires_at: int
    version: int  # the account's token_version when issued: an older one is ended


def issue_token(
    *,
    moderator_id: int,
    role: str,
    settings: Settings,
    session_id: str | None = None,
    scope: str = SCOPE_FULL,
    version: int = 0,
) -> tuple[str, int]:
    """A signed token and its lifetime in seconds, under the account's `version`."""
    return tokens.issue(
        subject=moderator_id,
        audience=AUDIENCE,
        minutes=settings.token_minutes,
        settings=settings,
        role=role,
        sid=session_id or uuid.uuid4().hex,
        scope=scope,
        ver=version,
    )


def token_for(
    moderator: Moderator,
    *,
    settings: Settings,
    scope: str = SCOPE_FULL,
    session_id: str | None = None,
) -> tuple[str, int]:
    """A token for this moderator as the account stands now (role, token version)."""
    return issue_token(
        moderator_id=moderator.id or 0,
        role=moderator.role,
        settings=settings,
        scope=scope,
        session_id=session_id,
        version=moderator.token_version,
    )


def decode_token(token: str, settings: Settings) -> TokenClaims:
    """A moderator's valid token as claims; tokens.InvalidToken for anything else."""
    claims = tokens.decode(token, audience=AUDIENCE, settings=settings)
    try:
        return TokenClaims(
            moderator_id=int(claims["sub"]),
            role=str(claims["role"]),
            session_id=str(claims["sid"]),
            scope=str(claims["scope"]),
            expires_at=int(claims["exp"]),
            version=int(claims["ver"]),
        )
    except (KeyError, ValueError, TypeError):
        raise tokens.InvalidToken from None


def csrf_token(session_id: str, settings: Settings) -> str:
    """A form token bound to one login session: a forged form cannot know it."""
    return hmac.new(_csrf_key(settings), f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()


def _csrf_key(settings: Settings) -> bytes:
    assert settings.jwt_secret is not None
    return settings.jwt_secret.get_secret_value().encode()


def csrf_ok(session_id: str, presented: str, settings: Settings) -> bool:
    return hmac.compare_digest(csrf_token(session_id, settings), presented or "")


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="redflag")


def totp_ok(secret: str, code: str | None) -> bool:
    if not code:
        return False
    return pyotp.TOTP(secret).verify(code.strip().replace(" ", ""), valid_window=1)
