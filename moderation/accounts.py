"""Moderator accounts: creating them, logging in, second factors, and the admin's tools."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, func, select

from app.crypto import FieldCipher
from app.db import aware, utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound, RedflagError
from app.settings import Settings
from moderation import audit, security
from moderation.models import PURPOSE_TOTP, Moderator, ModeratorPublic, Role

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
LOGIN_FAILED = (
    "Wrong username, password or code, or too many attempts: wait a few minutes and try again."
)


class LoginFailed(RedflagError):
    """One message for every way a login fails, so it tells nobody which accounts exist.

    The audit entry (and a crowd mark) must survive the failed request: the request's
    session commits them (keeps_writes)."""

    status_code = 401
    keeps_writes = True

    def __init__(self) -> None:
        super().__init__(LOGIN_FAILED)


class WrongPassword(InvalidInput):
    """The current password given to change it is wrong: counted and audited, so the
    request's session keeps the audit entry (keeps_writes)."""

    keeps_writes = True


class Attempts(Protocol):
    """One client's password guesses per account, counted outside the database under the
    client's pseudonym (moderation.deps.LoginAttempts): one client's guesses lock out
    that client, never the account. Each attempt is counted before the password is
    checked, so guesses sent at the same moment cannot all be checked."""

    def attempt(self, username: str) -> None:
        """Count an attempt; RateLimited (429) when this client has no tries left."""
        ...

    def failed(self, username: str) -> bool:
        """The attempt failed; True when many clients have failed on `username` this hour."""
        ...

    def succeeded(self, username: str) -> None: ...


def public(moderator: Moderator) -> ModeratorPublic:
    return ModeratorPublic(
        id=moderator.id or 0,
        username=moderator.username,
        role=Role(moderator.role),
        active=moderator.active,
        totp_enabled=moderator.totp_confirmed,
        must_change_password=moderator.must_change_password,
        crowd_guess_at=aware(moderator.crowd_guess_at),
    )


def create(
    session: Session, *, username: str, password: str, role: Role, admin: Moderator | None = None
) -> Moderator:
    """A new account, in the audit log as `admin`'s doing (None: from the command line)."""
    name = username.strip().lower()
    errors = []
    if not USERNAME.match(name):
        errors.append(
            FieldError(
                ("username",), "invalid_username", "3 to 40 of a-z, 0-9, dot, dash, underscore"
            )
        )
    errors += _weak(password, field="password")
    if errors:
        raise InvalidInput(errors)
    if session.exec(select(Moderator.id).where(Moderator.username == name)).first() is not None:
        raise Conflict(f"There is already a moderator called {name}.")
    moderator = Moderator(
        username=name,
        password_hash=security.hash_password(password),
        role=role.value,
        created_at=utcnow(),
    )
    session.add(moderator)
    session.flush()
    _audit(session, "moderator.create", moderator, by=admin)
    return moderator


@dataclass(frozen=True)
class LoginResult:
    moderator: Moderator
    scope: str  # what its token may do (token_scope)


def token_scope(moderator: Moderator, *, settings: Settings) -> str:
    """What the account's token may do: first choose a new password (after an admin's
    reset), then set up a required second factor, then everything."""
    if moderator.must_change_password:
        return security.SCOPE_PASSWORD
    if settings.require_totp and moderator.role == Role.admin and not moderator.totp_confirmed:
        return security.SCOPE_TOTP_SETUP
    return security.SCOPE_FULL


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    otp: str | None,
    settings: Settings,
    cipher: FieldCipher,
    attempts: Attempts,
) -> LoginResult:
    """Check a login. The attempt is counted first: a client with too many failures on
    this account is refused (RateLimited, 429), whether or not the account exists.

    Raises LoginFailed, which keeps what was written here: the audit entries.
    """
    name = username.strip().lower()
    attempts.attempt(name)
    moderator = session.exec(select(Moderator).where(Moderator.username == name)).first()
    password_ok = security.verify_password(password, moderator.password_hash if moderator else None)
    second_ok = True
    if moderator is not None and moderator.totp_confirmed and moderator.totp_secret_enc:
        secret = cipher.decrypt(moderator.totp_secret_enc, purpose=PURPOSE_TOTP)
        second_ok = security.totp_ok(secret, otp)
    if moderator is None or not moderator.active or not (password_ok and second_ok):
        raise _failed(session, moderator, many_clients=attempts.failed(name))
    attempts.succeeded(name)
    _audit(session, "login", moderator, by=moderator)
    return LoginResult(moderator, token_scope(moderator, settings=settings))


def _failed(session: Session, moderator: Moderator | None, *, many_clients: bool) -> LoginFailed:
    """Audit a failure on an account; mark it when it is guessed at from many clients.
    The audit log never says which clients: it has no way of knowing."""
    if moderator is None:
        return LoginFailed()
    if moderator.active:
        _audit(session, "login.failed", moderator, by=moderator)
    _mark_crowd(session, moderator, many_clients=many_clients)
    return LoginFailed()


def _mark_crowd(session: Session, moderator: Moderator, *, many_clients: bool) -> None:
    if many_clients:
        moderator.crowd_guess_at = utcnow()
        session.add(moderator)
        _audit(session, "login.failed_from_many_clients", moderator, by=None)


def get_signed_in(session: Session, *, moderator_id: int, token_version: int) -> Moderator | None:
    """The active account behind a token, unless the token was ended (logout, a new
    password, deactivation: each moves the account's token_version on)."""
    moderator = get_active(session, moderator_id=moderator_id)
    if moderator is None or moderator.token_version != token_version:
        return None
    return moderator


def log_out(session: Session, *, moderator: Moderator) -> None:
    """Ends every token of the account, on every device: a copied cookie stops working."""
    _end_tokens(session, moderator)
    _audit(session, "logout", moderator, by=moderator)


def _end_tokens(session: Session, moderator: Moderator) -> None:
    """Moves the account's token_version on in the database itself (token_version + 1),
    so two requests at once cannot both write the same next version and undo a logout."""
    version = session.exec(
        update(Moderator)
        .where(col(Moderator.id) == moderator.id)
        .values(token_version=col(Moderator.token_version) + 1)
        .returning(col(Moderator.token_version))
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(moderator, "token_version", version)


def _weak(password: str, *, field: str) -> list[FieldError]:
    if len(password) >= security.MIN_PASSWORD:
        return []
    return [FieldError((field,), "weak_password", f"at least {security.MIN_PASSWORD} characters")]


def change_password(
    session: Session, *, moderator: Moderator, current: str, new: str, attempts: Attempts
) -> Moderator:
    """The moderator's own new password. Ends every token of the account, including the
    one used for this: the caller issues a fresh one.

    The current password is guessed at no more freely than at login (a stolen cookie
    must not be a way around the lock-out): the attempt is counted first (RateLimited),
    and a wrong one is audited (WrongPassword keeps that), without the password or
    the client."""
    attempts.attempt(moderator.username)
    if not security.verify_password(current, moderator.password_hash):
        _audit(session, "password.change_failed", moderator, by=moderator)
        _mark_crowd(session, moderator, many_clients=attempts.failed(moderator.username))
        raise WrongPassword(
            [FieldError(("current_password",), "wrong_password", "that is not your password")]
        )
    attempts.succeeded(moderator.username)
    errors = _weak(new, field="new_password")
    if not errors and new == current:
        errors.append(FieldError(("new_password",), "same_password", "choose a new password"))
    if errors:
        raise InvalidInput(errors)
    moderator.password_hash = security.hash_password(new)
    moderator.must_change_password = False
    session.add(moderator)
    _end_tokens(session, moderator)
    _audit(session, "password.change", moderator, by=moderator)
    return moderator


def get_active(session: Session, *, moderator_id: int) -> Moderator | None:
    moderator = session.get(Moderator, moderator_id)
    return moderator if moderator is not None and moderator.active else None


def begin_totp_setup(session: Session, *, moderator: Moderator, cipher: FieldCipher) -> str:
    """A new, unconfirmed secret; the old factor stays in force until this one is confirmed."""
    secret = security.new_totp_secret()
    if not moderator.totp_confirmed:
        moderator.totp_secret_enc = cipher.encrypt(secret, purpose=PURPOSE_TOTP)
        session.add(moderator)
        session.flush()
        return secret
    raise Conflict("Two-factor authentication is already set up; an admin can reset it.")


def confirm_totp(session: Session, *, moderator: Moderator, code: str, cipher: FieldCipher) -> None:
    if moderator.totp_confirmed or moderator.totp_secret_enc is None:
        raise Conflict("There is no two-factor set-up waiting to be confirmed.")
    secret = cipher.decrypt(moderator.totp_secret_enc, purpose=PURPOSE_TOTP)
    if not security.totp_ok(secret, code):
        raise InvalidInput(
            [FieldError(("code",), "invalid_code", "that code is not right; try the next one")]
        )
    moderator.totp_confirmed = True
    session.add(moderator)
    _audit(session, "totp.enable", moderator, by=moderator)


# ---- the admin's tools ----------------------------------------------------------------------


def list_all(session: Session) -> list[ModeratorPublic]:
    return [public(m) for m in session.exec(select(Moderator).order_by(Moderator.username)).all()]


def _get(session: Session, moderator_id: int) -> Moderator:
    moderator = session.exec(
        select(Moderator).where(Moderator.id == moderator_id).with_for_update()
    ).first()
    if moderator is None:
        raise NotFound("No such moderator.")
    return moderator


def _keep_an_admin(session: Session, moderator: Moderator) -> None:
    others = session.exec(
        select(func.count())
        .select_from(Moderator)
        .where(Moderator.role == Role.admin, Moderator.active, col(Moderator.id) != moderator.id)
    ).one()
    if moderator.role == Role.admin and moderator.active and others == 0:
        raise Conflict("There must always be at least one active admin.")


def set_active(session: Session, *, admin: Moderator, moderator_id: int, active: bool) -> Moderator:
    moderator = _get(session, moderator_id)
    if not active:
        _keep_an_admin(session, moderator)
    if moderator.active and not active:
        _end_tokens(session, moderator)
    moderator.active = active
    session.add(moderator)
    _audit(session, "moderator.activate" if active else "moderator.deactivate", moderator, by=admin)
    return moderator


def set_role(session: Session, *, admin: Moderator, moderator_id: int, role: Role) -> Moderator:
    moderator = _get(session, moderator_id)
    if Role.organisation in {role, moderator.role}:
        # An organisation's person belongs to it (organisations/): never made staff, nor back.
        raise Conflict("An organisation's account cannot become a moderator, nor the reverse.")
    if role != Role.admin:
        _keep_an_admin(session, moderator)
    moderator.role = role.value
    session.add(moderator)
    _audit(session, f"moderator.role.{role.value}", moderator, by=admin)
    return moderator


@dataclass(frozen=True)
class PasswordReset:
    moderator: Moderator
    one_time_password: str  # shown to the admin once, never stored or logged


def reset_password(session: Session, *, admin: Moderator, moderator_id: int) -> PasswordReset:
    """A forgotten password: a one-time password for the admin to hand over, which only
    allows choosing a new one. Ends every token of the account."""
    moderator = _get(session, moderator_id)
    one_time = secrets.token_urlsafe(12)  # 16 characters, 96 bits
    moderator.password_hash = security.hash_password(one_time)
    moderator.must_change_password = True
    session.add(moderator)
    _end_tokens(session, moderator)
    _audit(session, "moderator.reset_password", moderator, by=admin)
    return PasswordReset(moderator, one_time)


def reset_totp(session: Session, *, admin: Moderator, moderator_id: int) -> Moderator:
    """For a lost phone: the second factor is removed and set up again at the next login."""
    moderator = _get(session, moderator_id)
    moderator.totp_secret_enc = None
    moderator.totp_confirmed = False
    session.add(moderator)
    _audit(session, "moderator.reset_totp", moderator, by=admin)
    return moderator


def _audit(session: Session, action: str, moderator: Moderator, *, by: Moderator | None) -> None:
    """An audit entry about this account: what was done and by whom (None: nobody signed
    in, e.g. the command line or too many clients failing), never more."""
    audit.record(
        session,
        moderator_id=by.id if by else None,
        action=action,
        target_type="moderator",
        target_id=moderator.id,
    )
