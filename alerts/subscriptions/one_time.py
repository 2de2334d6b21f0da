"""One-time codes and links: stored as keyed hashes, expiring, a few attempts each.

A wrong code must count even though its request fails, or guessing would cost nothing:
CodeRejected keeps the request's writes, so the request's session commits the attempt
before the error is answered (app.deps.get_session).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, delete, select

from alerts.models import CodePurpose, OneTimeCode, Subscriber
from app.crypto import BlindIndex, Crypto
from app.db import aware, utcnow
from app.errors import FieldError, InvalidInput
from app.settings import Settings


class CodeRejected(InvalidInput):
    keeps_writes = True  # the attempt was counted: that must stay

    def __init__(
        self, message: str = "the code is wrong or has expired; ask for a new one"
    ) -> None:
        super().__init__([FieldError(("code",), "invalid_code", message)])


def _code_hash(index: BlindIndex, subscriber_id: int, purpose: str, code: str) -> bytes:
    return index.digest("one-time-code", f"{subscriber_id}:{purpose}:{code}")


def _link_hash(index: BlindIndex, token: str) -> bytes:
    return index.digest("one-time-link", token)


def issue(
    session: Session,
    *,
    subscriber: Subscriber,
    purpose: CodePurpose,
    crypto: Crypto,
    lifetime: timedelta,
    link: bool,
    payload: dict[str, Any] | None = None,
) -> str:
    """A new code (6 digits) or link token for this subscriber and purpose; replaces the old one."""
    assert subscriber.id is not None
    secret = secrets.token_urlsafe(24) if link else f"{secrets.randbelow(10**6):06d}"
    digest = (
        _link_hash(crypto.index, secret)
        if link
        else _code_hash(crypto.index, subscriber.id, purpose, secret)
    )
    session.exec(
        delete(OneTimeCode).where(
            col(OneTimeCode.subscriber_id) == subscriber.id, col(OneTimeCode.purpose) == purpose
        )
    )
    session.add(
        OneTimeCode(
            subscriber_id=subscriber.id,
            purpose=purpose.value,
            code_hash=digest,
            expires_at=utcnow() + lifetime,
            payload=payload or {},
        )
    )
    session.flush()
    return secret


def redeem(
    session: Session,
    *,
    subscriber: Subscriber | None,
    purpose: CodePurpose,
    code: str,
    crypto: Crypto,
    settings: Settings,
) -> OneTimeCode:
    """The code row if `code` is right and current; counts attempts and spends it after the last.

    Raises CodeRejected after flushing the count (which the request then keeps)."""
    if subscriber is None or subscriber.id is None:
        raise CodeRejected()
    row = session.exec(
        select(OneTimeCode)
        .where(OneTimeCode.subscriber_id == subscriber.id, OneTimeCode.purpose == purpose)
        .with_for_update()
    ).first()
    if row is None or _expired(row.expires_at):
        raise CodeRejected()
    given = code.strip().replace(" ", "")
    expected = [
        _code_hash(crypto.index, subscriber.id, purpose, given),
        _link_hash(crypto.index, given),
    ]
    if any(hmac.compare_digest(row.code_hash, e) for e in expected):
        session.delete(row)
        session.flush()
        return row
    row.attempts += 1
    if row.attempts >= settings.code_attempts:
        session.delete(row)
        session.flush()
        raise CodeRejected("too many wrong codes; ask for a new one")
    session.add(row)
    session.flush()
    raise CodeRejected()


def redeem_link(
    session: Session, *, token: str, crypto: Crypto, purpose: CodePurpose = CodePurpose.confirm
) -> OneTimeCode:
    """The link's row (a confirmation link by default), spent; CodeRejected if it is wrong
    or has expired."""
    row = find_link(session, token=token, crypto=crypto, purpose=purpose)
    if row is None:
        raise CodeRejected("this link is wrong or has expired; subscribe again for a new one")
    session.delete(row)
    return row


def find_link(
    session: Session, *, token: str, crypto: Crypto, purpose: CodePurpose
) -> OneTimeCode | None:
    """The row of a current link token for `purpose`, not spent; None if there is none."""
    row = session.exec(
        select(OneTimeCode).where(
            OneTimeCode.code_hash == _link_hash(crypto.index, token.strip()),
            OneTimeCode.purpose == purpose,
        )
    ).first()
    return None if row is None or _expired(row.expires_at) else row


def _expired(moment: datetime) -> bool:
    return aware(moment) <= utcnow()
