"""Web push subscriptions: a browser's push subscription in place of a number or address.

There is no code to confirm: the endpoint is a secret only the browser and its push
service know, so whoever presents it holds it, and the invite code or an application
verifies the member as for SMS. The subscription is stored like any contact (encrypted,
with the endpoint's blind index) and deleted on leaving or when the push service says it
is gone (404, 410: alerts/delivery/verdict.py). Endpoints are https:// on the hosts in
REDFLAG_PUSH_HOSTS only, so the worker never posts to an address inside the network.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete
from sqlmodel import Session, col, select
from yarl import URL

from alerts import applications, membership
from alerts.models import (
    PURPOSE_CONTACT,
    Application,
    Channel,
    Membership,
    Severity,
    Subscriber,
)
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import rows_changed, utcnow
from app.errors import FieldError, InvalidInput
from app.regions import service as regions_service
from app.retention import Policy
from app.settings import Settings
from app.vapid import b64url, b64url_decode

AUTH_BYTES = 16


@dataclass(frozen=True)
class PushKeys:
    endpoint: str
    p256dh: str
    auth: str

    def as_contact(self) -> str:
        """What is stored (encrypted) and what the worker encrypts each message for."""
        return json.dumps(
            {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}},
            separators=(",", ":"),
        )


def checked_endpoint(endpoint: str, *, settings: Settings) -> str:
    """The endpoint in one form (as aiohttp, which posts to it, reads it: the host in small
    letters and IDNA, no default port), if it is https:// on a push service's host;
    InvalidInput naming `push.endpoint` otherwise (never repeating it). One form, so one
    browser is one subscriber however its endpoint was written."""
    url = _parsed(endpoint)
    if url is None:
        raise InvalidInput(
            [FieldError(("push", "endpoint"), "invalid_endpoint", "must be an https:// URL")]
        )
    if not settings.push_host_allowed(url.host or ""):
        raise InvalidInput(
            [
                FieldError(
                    ("push", "endpoint"),
                    "push_host_not_allowed",
                    "not a push service this site sends to (REDFLAG_PUSH_HOSTS)",
                )
            ]
        )
    return str(url)


def _parsed(endpoint: str) -> URL | None:
    """An https:// URL without a user, a fragment, port 0 or any control character or
    space; None for anything else. (A port is the push service's own: hosts are checked.)"""
    endpoint = endpoint.strip()
    if not endpoint.isprintable() or any(ch.isspace() for ch in endpoint):
        return None
    try:
        url = URL(endpoint)
        host = url.host  # IDNA: raises for a name no resolver would take
    except (ValueError, UnicodeError):
        return None
    if (
        url.scheme != "https"
        or not host
        or url.user is not None
        or url.password is not None
        or url.port == 0
        or url.fragment
    ):
        return None
    return url.with_port(None) if url.explicit_port == 443 else url


def checked_keys(endpoint: str, p256dh: str, auth: str, *, settings: Settings) -> PushKeys:
    """A browser's push subscription as given, each part checked; InvalidInput naming each
    part that is wrong."""
    errors: list[FieldError] = []
    try:
        endpoint = checked_endpoint(endpoint, settings=settings)
    except InvalidInput as exc:
        errors += exc.errors
    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        errors.append(
            FieldError(("push", "keys", "p256dh"), "invalid_key", "not a P-256 public key")
        )
    try:
        secret = b64url_decode(auth)
    except ValueError:
        secret = b""
    if len(secret) != AUTH_BYTES:
        errors.append(
            FieldError(("push", "keys", "auth"), "invalid_key", "not a 16-byte auth secret")
        )
    if errors:
        raise InvalidInput(errors)
    # Stored as the bytes they are, written one way.
    return PushKeys(endpoint, b64url(point), b64url(secret))


def subscribe(
    session: Session,
    *,
    keys: PushKeys,
    regions: list[str],
    language: str,
    min_severity: Severity | None,
    crypto: Crypto,
    settings: Settings,
    joins: Callable[[], None],
    invite_code: str | None = None,
) -> subscriptions.Confirmed:
    """Subscribe this browser, or change its regions and language: in effect at once. An
    invite code verifies the member; without one the member is pending (and may apply),
    and `joins()` counts a new one against its client's limit (RateLimited when over)."""
    wanted = regions_service.check_codes(session, regions)
    invite = membership.checked_invite(crypto.index, invite_code)
    contact = keys.as_contact()
    subscriber = subscriptions.find(
        session, index=crypto.index, channel=Channel.push, contact=keys.endpoint, lock=True
    )
    if subscriber is None:
        if invite is None:
            joins()
        subscriber = Subscriber(
            channel=Channel.push.value,
            contact_enc=b"",
            contact_index=subscriptions.contact_index(crypto.index, Channel.push, keys.endpoint),
            language=language,
            created_at=utcnow(),
        )
    # The keys may be new for a known endpoint: the browser's subscription as it is now.
    subscriber.contact_enc = crypto.cipher.encrypt(contact, purpose=PURPOSE_CONTACT)
    session.add(subscriber)
    session.flush()
    payload: dict[str, object] = {
        "regions": wanted,
        "language": language,
        "min_severity_rank": min_severity.rank if min_severity else 0,
    }
    if invite is not None:
        payload["invite"] = invite.hex()
    return subscriptions.apply_confirmed(session, subscriber, payload, settings)


def apply_link(
    session: Session, subscriber: Subscriber, *, crypto: Crypto, settings: Settings
) -> str | None:
    """A pending member's link to the application form (None when verified, or when an
    application is already waiting): the API's answer has no page to show it on."""
    assert subscriber.id is not None
    if subscriber.membership != Membership.pending or applications.is_waiting(
        session, subscriber_id=subscriber.id
    ):
        return None
    return applications.form_link(session, subscriber=subscriber, crypto=crypto, settings=settings)


def subscription_from_page(typed: str, *, settings: Settings) -> PushKeys:
    """The subscription the subscribe page's script put in its form (PushSubscription's
    JSON); InvalidInput naming `push` if it is not one this site can send to."""
    try:
        given = json.loads(typed)
        keys = given["keys"]
        return checked_keys(
            str(given["endpoint"]), str(keys["p256dh"]), str(keys["auth"]), settings=settings
        )
    except (ValueError, KeyError, TypeError, InvalidInput):
        raise InvalidInput(
            [FieldError(("push",), "invalid_push", "not a push subscription this site can use")]
        ) from None


def renew(
    session: Session, *, old_endpoint: str, old_auth: str, keys: PushKeys, crypto: Crypto
) -> None:
    """The browser renewed its subscription by itself: the member's row takes the new one,
    keeping its regions, language and membership. Only whoever holds the old one's auth
    secret (the browser) can move it; nothing happens otherwise (the answer is the same)."""
    url = _parsed(old_endpoint)
    subscriber = url and subscriptions.find(
        session, index=crypto.index, channel=Channel.push, contact=str(url), lock=True
    )
    if not subscriber:
        return
    stored = json.loads(crypto.cipher.decrypt(subscriber.contact_enc, purpose=PURPOSE_CONTACT))
    try:
        proved = hmac.compare_digest(b64url_decode(stored["keys"]["auth"]), b64url_decode(old_auth))
    except ValueError:
        proved = False
    taken = subscriptions.find(
        session, index=crypto.index, channel=Channel.push, contact=keys.endpoint
    )
    if not proved or (taken is not None and taken.id != subscriber.id):
        return
    subscriber.contact_enc = crypto.cipher.encrypt(keys.as_contact(), purpose=PURPOSE_CONTACT)
    subscriber.contact_index = subscriptions.contact_index(
        crypto.index, Channel.push, keys.endpoint
    )
    session.add(subscriber)


def leave(session: Session, *, endpoint: str, crypto: Crypto) -> None:
    """This browser's subscription is deleted, if there is one (the answer is the same)."""
    url = _parsed(endpoint)
    subscriber = url and subscriptions.find(
        session, index=crypto.index, channel=Channel.push, contact=str(url)
    )
    if subscriber:
        subscriptions.remove(session, subscriber=subscriber)


def purge_pending(session: Session, policy: Policy) -> int:
    """Retention: a browser that signed up without an invite and never applied goes after
    REDFLAG_APPLICATION_DAYS (an endpoint costs nothing to make up, unlike a number that
    took a code). One with an application waiting stays until it is decided. Returns how
    many."""
    waiting = select(col(Application.subscriber_id))
    return rows_changed(
        session,
        delete(Subscriber).where(
            col(Subscriber.channel) == Channel.push.value,
            col(Subscriber.membership) == Membership.pending.value,
            col(Subscriber.created_at) <= policy.before(policy.application_days),
            col(Subscriber.id).not_in(waiting),
        ),
    )
