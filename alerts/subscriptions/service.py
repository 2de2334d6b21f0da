"""Subscribing and leaving, with no names: a channel and an encrypted contact.

Everything that can be asked about a contact answers the same whether it is subscribed
or not, so the service cannot be used to find out who is a subscriber: a code or link is
written to the outbox in the request's transaction and the delivery worker sends it, so
no answer waits for (or tells of) a provider. Codes are stored as keyed hashes, expire,
and allow a few attempts (one_time.py). Leaving through the API or the web also takes a
code, so nobody can silence someone else's alerts by knowing their number; STOP by SMS
and the link in every email work at once.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import phonenumbers
from sqlmodel import Session, col, delete, select

from alerts import membership
from alerts.delivery import outbox as delivery
from alerts.models import (
    PURPOSE_CONTACT,
    Channel,
    CodePurpose,
    OneTimeCode,
    Severity,
    Subscriber,
    SubscriberRegion,
)
from alerts.subscriptions import one_time
from app.crypto import BlindIndex, Crypto
from app.db import rows_changed, utcnow
from app.errors import FieldError, InvalidInput
from app.i18n import Translator
from app.identifiers import InvalidIdentifier, normalise_email, normalise_phone
from app.ratelimit import RateLimiter
from app.regions import service as regions_service
from app.retention import Policy
from app.settings import Settings


def normalise_contact(channel: Channel, raw: str, *, settings: Settings) -> str:
    """The contact as stored and indexed; InvalidInput naming `contact` if it cannot be
    used: not valid, not a mobile, or (against SMS pumping) a number in a country not
    listed in REDFLAG_SMS_COUNTRIES."""
    if channel is Channel.push:
        # A browser's push subscription takes no codes (alerts/subscriptions/push.py).
        raise InvalidInput(
            [FieldError(("channel",), "no_codes_by_push", "push takes no codes: sms or email")]
        )
    try:
        if channel is Channel.email:
            return normalise_email(raw)
        number = normalise_phone(raw, settings.default_country)
    except InvalidIdentifier as exc:
        raise InvalidInput([FieldError(("contact",), exc.code, exc.message)]) from None
    parsed = phonenumbers.parse(number)
    if phonenumbers.region_code_for_number(parsed) not in settings.sms_country_codes:
        raise InvalidInput(
            [FieldError(("contact",), "country_not_served", "no SMS to this country from here")]
        )
    if phonenumbers.number_type(parsed) not in {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }:
        raise InvalidInput(
            [FieldError(("contact",), "not_mobile", "not a mobile number: it cannot receive SMS")]
        )
    return number


def contact_index(index: BlindIndex, channel: str, contact: str) -> bytes:
    return index.digest(f"contact:{channel}", contact)


def may_send_code(limiter: RateLimiter, index: BlindIndex, channel: str, contact: str) -> bool:
    """Whether one more code or link may go to this number or address, whoever asks
    (REDFLAG_RATE_LIMIT_CODES: SMS pumping sends many to one number). When not, nothing
    is sent and the asker gets the same answer as always."""
    return limiter.allow_destination("codes", contact_index(index, channel, contact))


def find(
    session: Session, *, index: BlindIndex, channel: str, contact: str, lock: bool = False
) -> Subscriber | None:
    query = select(Subscriber).where(
        Subscriber.channel == channel,
        Subscriber.contact_index == contact_index(index, channel, contact),
    )
    return session.exec(query.with_for_update() if lock else query).first()


def contact_of(subscriber: Subscriber, crypto: Crypto) -> str:
    return crypto.cipher.decrypt(subscriber.contact_enc, purpose=PURPOSE_CONTACT)


def region_codes(session: Session, subscriber_id: int) -> list[str]:
    return list(
        session.exec(
            select(SubscriberRegion.region_code).where(
                SubscriberRegion.subscriber_id == subscriber_id
            )
        )
    )


def _new_subscriber(
    session: Session, *, channel: str, contact: str, language: str, crypto: Crypto
) -> Subscriber:
    subscriber = Subscriber(
        channel=channel,
        contact_enc=crypto.cipher.encrypt(contact, purpose=PURPOSE_CONTACT),
        contact_index=contact_index(crypto.index, channel, contact),
        language=language,
        created_at=utcnow(),
    )
    session.add(subscriber)
    session.flush()
    return subscriber


def set_regions(
    session: Session, *, subscriber: Subscriber, codes: list[str], replace: bool
) -> None:
    assert subscriber.id is not None
    current = set(region_codes(session, subscriber.id))
    if replace:
        session.exec(
            delete(SubscriberRegion).where(col(SubscriberRegion.subscriber_id) == subscriber.id)
        )
        current = set()
    for code in codes:
        if code not in current:
            session.add(SubscriberRegion(subscriber_id=subscriber.id, region_code=code))
    session.flush()


# ---- subscribing ------------------------------------------------------------------------------


def request_subscription(
    session: Session,
    *,
    channel: Channel,
    contact: str,
    regions: list[str],
    language: str,
    min_severity: Severity | None,
    crypto: Crypto,
    settings: Settings,
    limiter: RateLimiter,
    link_base: str,
    invite_code: str | None = None,
) -> None:
    """Start (or change) a subscription: a code or link goes to the outbox, and nothing
    takes effect until it comes back. Nothing changes when this contact has had its share
    of codes. An invite code is carried (as its hash) to the confirmation, where it is
    spent."""
    contact = normalise_contact(channel, contact, settings=settings)
    wanted = regions_service.check_codes(session, regions)
    invite = membership.checked_invite(crypto.index, invite_code)
    if not may_send_code(limiter, crypto.index, channel, contact):
        return
    subscriber = find(session, index=crypto.index, channel=channel, contact=contact, lock=True)
    if subscriber is None:
        subscriber = _new_subscriber(
            session, channel=channel, contact=contact, language=language, crypto=crypto
        )
    payload = {
        "regions": wanted,
        "language": language,
        "min_severity_rank": min_severity.rank if min_severity else 0,
    }
    if invite is not None:
        payload["invite"] = invite.hex()
    by_email = channel is Channel.email
    lifetime = (
        timedelta(hours=settings.link_hours)
        if by_email
        else timedelta(minutes=settings.code_minutes)
    )
    secret = one_time.issue(
        session, subscriber=subscriber, purpose=CodePurpose.confirm, crypto=crypto,
        lifetime=lifetime, link=by_email, payload=payload,
    )  # fmt: skip
    t = _translator(language)
    places = ", ".join(regions_service.names(session, wanted))
    if by_email:
        link = f"{link_base.rstrip('/')}/{language}/subscribe/confirm?t={secret}"
        body = t("sub.link_body", regions=places, hours=settings.link_hours, link=link)
        subject: str | None = t("sub.link_subject")
    else:
        body, subject = t("sub.code_sms", code=secret, minutes=settings.code_minutes), None
    delivery.send_once(
        session, subscriber=subscriber, text=body, subject=subject, cipher=crypto.cipher
    )


@dataclass(frozen=True)
class Confirmed:
    subscriber: Subscriber
    invite: membership.InviteOutcome | None  # what became of an invite code given at sign-up


def confirm(
    session: Session,
    *,
    channel: Channel,
    contact: str,
    code: str,
    crypto: Crypto,
    settings: Settings,
) -> Confirmed:
    subscriber, payload = redeem(
        session,
        purpose=CodePurpose.confirm,
        channel=channel,
        contact=contact,
        code=code,
        crypto=crypto,
        settings=settings,
    )
    return apply_confirmed(session, subscriber, payload, settings)


def confirm_link(session: Session, *, token: str, crypto: Crypto, settings: Settings) -> Confirmed:
    """The link in a confirmation email (the page asks for a click first, so that mail
    scanners that open links do not confirm on their own)."""
    row = one_time.redeem_link(session, token=token, crypto=crypto)
    subscriber = session.get(Subscriber, row.subscriber_id)
    assert subscriber is not None
    return apply_confirmed(session, subscriber, row.payload, settings)


def apply_confirmed(
    session: Session, subscriber: Subscriber, payload: dict[str, Any], settings: Settings
) -> Confirmed:
    """What a confirmed code (or a push subscription, which needs none) asked for takes
    effect: regions, language, severity, and the invite code spent."""
    subscriber.language = payload.get("language", subscriber.language)
    subscriber.min_severity_rank = int(
        payload.get("min_severity_rank", subscriber.min_severity_rank)
    )
    subscriber.confirmed_at = subscriber.confirmed_at or utcnow()
    subscriber.unreachable_at = None
    session.add(subscriber)
    set_regions(
        session, subscriber=subscriber, codes=list(payload.get("regions", [])), replace=True
    )
    invite = membership.on_confirmed(
        session, subscriber=subscriber, settings=settings, invite_hash_hex=payload.get("invite")
    )
    return Confirmed(subscriber, invite)


# ---- leaving ----------------------------------------------------------------------------------


def remove(session: Session, *, subscriber: Subscriber) -> None:
    """The subscriber row goes, and every message still waiting for it."""
    assert subscriber.id is not None
    delivery.forget_subscriber(session, subscriber_id=subscriber.id)
    session.delete(subscriber)
    session.flush()


def leave(
    session: Session,
    *,
    channel: Channel,
    contact: str,
    code: str,
    crypto: Crypto,
    settings: Settings,
) -> None:
    subscriber, _ = redeem(
        session,
        purpose=CodePurpose.leave,
        channel=channel,
        contact=contact,
        code=code,
        crypto=crypto,
        settings=settings,
    )
    remove(session, subscriber=subscriber)


def unsubscribe_token(index: BlindIndex, subscriber_id: int) -> str:
    """For the link in every email: the subscriber's number, signed; nothing stored."""
    mac = index.digest("unsubscribe", str(subscriber_id))[:12].hex()
    return f"{subscriber_id}-{mac}"


def subscriber_from_token(session: Session, *, index: BlindIndex, token: str) -> Subscriber | None:
    number, _, _ = token.partition("-")
    if not number.isdigit() or not hmac.compare_digest(
        unsubscribe_token(index, int(number)), token
    ):
        return None
    return session.get(Subscriber, int(number))


# ---- codes asked for by contact: leaving, and signing in for the client check --------------

# What such a code's message says, by purpose: (text, subject).
_CODE_MESSAGES = {
    CodePurpose.leave: ("sub.leave_code", "sub.leave_subject"),
    CodePurpose.login: ("member.code", "member.subject"),
}


def request_code(
    session: Session,
    *,
    purpose: Literal[CodePurpose.leave, CodePurpose.login],
    channel: Channel,
    contact: str,
    crypto: Crypto,
    settings: Settings,
    limiter: RateLimiter,
) -> None:
    """A code to leave, or to sign in for the client check (confirmed subscribers only),
    to the outbox; nothing, and the same answer to the caller, when there is nobody to send
    it to or the contact has had its share of codes."""
    contact = normalise_contact(channel, contact, settings=settings)
    # Counted whether or not the contact is subscribed, so the count tells nothing either.
    if not may_send_code(limiter, crypto.index, channel, contact):
        return
    subscriber = find(session, index=crypto.index, channel=channel, contact=contact, lock=True)
    if subscriber is None:
        return
    if purpose is CodePurpose.login and subscriber.confirmed_at is None:
        return
    code = one_time.issue(
        session, subscriber=subscriber, purpose=purpose, crypto=crypto,
        lifetime=timedelta(minutes=settings.code_minutes), link=False,
    )  # fmt: skip
    text, subject = _CODE_MESSAGES[purpose]
    t = _translator(subscriber.language)
    delivery.send_once(
        session,
        subscriber=subscriber,
        text=t(text, code=code, minutes=settings.code_minutes),
        subject=t(subject),
        cipher=crypto.cipher,
    )


def redeem(
    session: Session,
    *,
    purpose: CodePurpose,
    channel: Channel,
    contact: str,
    code: str,
    crypto: Crypto,
    settings: Settings,
) -> tuple[Subscriber, dict[str, Any]]:
    """The subscriber with this contact and what their `purpose` code carries, if `code`
    is right and current; CodeRejected, with the attempt counted, otherwise."""
    contact = normalise_contact(channel, contact, settings=settings)
    subscriber = find(session, index=crypto.index, channel=channel, contact=contact, lock=True)
    row = one_time.redeem(
        session,
        subscriber=subscriber,
        purpose=purpose,
        code=code,
        crypto=crypto,
        settings=settings,
    )
    assert subscriber is not None
    return subscriber, row.payload


def _translator(lang: str) -> Translator:
    return Translator(lang)


UNCONFIRMED_DAYS = 7  # a sign-up nobody confirmed: its code expired long before


def purge_unconfirmed(session: Session, policy: Policy) -> int:
    """Retention: sign-ups never confirmed go after a week, with their regions and codes
    (someone may have typed another person's number). Returns how many."""
    return rows_changed(
        session,
        delete(Subscriber).where(
            col(Subscriber.confirmed_at).is_(None),
            col(Subscriber.created_at) <= policy.before(UNCONFIRMED_DAYS),
        ),
    )


def purge_expired_codes(session: Session, policy: Policy) -> int:
    """Retention: one-time codes and links past their time (hashes, and the regions asked
    for). Returns how many."""
    return rows_changed(
        session, delete(OneTimeCode).where(col(OneTimeCode.expires_at) <= policy.now)
    )
