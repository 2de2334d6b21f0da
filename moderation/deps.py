"""Who is asking: bearer tokens for the API (the /mod pages use a cookie: web/session.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from app import tokens
from app.deps import SessionDep, SettingsDep, client_address
from app.errors import Forbidden, Unauthorized
from app.ratelimit import FailureCounter
from moderation import accounts, security
from moderation.models import STAFF_ROLES, Moderator, Role

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def token_claims(
    token: Annotated[str | None, Depends(bearer)], settings: SettingsDep
) -> security.TokenClaims:
    if not token:
        raise Unauthorized("This needs a moderator's bearer token: log in at /api/v1/auth/token.")
    try:
        return security.decode_token(token, settings)
    except tokens.InvalidToken:
        raise Unauthorized("The token is invalid or has expired: log in again.") from None


ClaimsDep = Annotated[security.TokenClaims, Depends(token_claims)]


def any_moderator(session: SessionDep, claims: ClaimsDep) -> Moderator:
    """The account behind the token, as it is now: a deactivated account's tokens, and any
    token from before a logout or a new password, stop working."""
    moderator = accounts.get_signed_in(
        session, moderator_id=claims.moderator_id, token_version=claims.version
    )
    if moderator is None:
        raise Unauthorized("The token has been ended, or the account is not active: log in again.")
    return moderator


def full_scope(
    account: Annotated[Moderator, Depends(any_moderator)], claims: ClaimsDep
) -> Moderator:
    """Any account, a moderator's or an organisation person's, past its first steps (a new
    password after a reset, a required second factor)."""
    if claims.scope != security.SCOPE_FULL:
        raise Forbidden("Set up two-factor authentication first (POST /api/v1/auth/totp/setup).")
    return account


def current_moderator(moderator: Annotated[Moderator, Depends(full_scope)]) -> Moderator:
    # Read from the database, not the token: organisations' people never see the queue.
    if moderator.role not in STAFF_ROLES:
        raise Forbidden("This is for moderators: organisations use /api/v1/org.")
    return moderator


def require_admin(moderator: Annotated[Moderator, Depends(current_moderator)]) -> Moderator:
    # The role is read from the database, not the token: a demotion takes effect at once.
    if moderator.role != Role.admin:
        raise Forbidden("Only an admin can do this.")
    return moderator


class LoginAttempts:
    """accounts.Attempts for this request's client: password guesses (at login, and when
    changing a password) counted per account and client pseudonym by the rate limiter
    (app.ratelimit.FailureCounter), never stored."""

    def __init__(self, request: Request) -> None:
        self._counter: FailureCounter = request.app.state.login_failures
        self._client = client_address(request)

    def attempt(self, username: str) -> None:
        self._counter.attempt(self._client, username)

    def failed(self, username: str) -> bool:
        return self._counter.failed(self._client, username)

    def succeeded(self, username: str) -> None:
        self._counter.succeeded(self._client, username)


LoginAttemptsDep = Annotated[LoginAttempts, Depends(LoginAttempts)]
AnyModerator = Annotated[Moderator, Depends(any_moderator)]
FullScopeAccount = Annotated[Moderator, Depends(full_scope)]
CurrentModerator = Annotated[Moderator, Depends(current_moderator)]
Admin = Annotated[Moderator, Depends(require_admin)]
