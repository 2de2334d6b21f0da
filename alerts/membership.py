"""Membership: only verified members receive alerts and check results.

Under REDFLAG_MEMBERSHIP=verified a confirmed subscriber is pending until an invite code
(given at sign-up) or a moderator verifies them; under "open" confirming is enough. Each
verification is recorded as when, which way and by whom, never the evidence. Invite codes
are stored as keyed hashes only, used once (one UPDATE decides, so two sign-ups racing for
one code cannot both win), and expire; who used one is not kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from alerts.delivery import outbox as delivery
from alerts.models import Application, Invite, Membership, Subscriber, SubscriberRegion, VerifiedHow
from app import receipts
from app.crypto import BlindIndex
from app.db import aware, rows_changed, utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.settings import Settings

INVITE_SYMBOLS = 8  # "K7QF-3MZP": 40 bits, single use, expiring, typed by hand
INVITE_DAYS = 14
INVITE_DAYS_RANGE = (1, 60)


class InviteOutcome(StrEnum):
    accepted = "accepted"  # the subscriber is verified
    used = "used"  # someone used it already
    expired = "expired"
    unknown = "unknown"  # no such code


class Reason(StrEnum):
    """Why a moderator suspended or removed a member: a fixed list, as the audit log keeps
    no free text."""

    passed_on_alerts = "passed_on_alerts"
    not_a_sex_worker = "not_a_sex_worker"
    abuse = "abuse"
    other = "other"


def by_moderator(moderator_id: int | None) -> str:
    return f"moderator:{moderator_id}"


# ---- invite codes ------------------------------------------------------------------------


def invite_hash(index: BlindIndex, typed: str) -> bytes | None:
    """The keyed hash of a typed invite code; None when it cannot be one."""
    canonical = receipts.normalise(typed, INVITE_SYMBOLS)
    return None if canonical is None else index.digest("invite", canonical)


def checked_invite(index: BlindIndex, typed: str | None) -> bytes | None:
    """A sign-up's invite code as its hash (None when none was given); InvalidInput naming
    `invite_code` when it cannot be a code at all. Whether it is valid is only known when
    the subscription is confirmed."""
    if typed is None or not typed.strip():
        return None
    digest = invite_hash(index, typed)
    if digest is None:
        raise InvalidInput(
            [FieldError(("invite_code",), "invalid_invite", "not an invite code (like K7QF-3MZP)")]
        )
    return digest


def issue_invite(
    session: Session, *, index: BlindIndex, issued_by: str, valid_days: int = INVITE_DAYS
) -> tuple[str, Invite]:
    """A new invite code (returned once, never stored) and its row."""
    low, high = INVITE_DAYS_RANGE
    if not low <= valid_days <= high:
        raise InvalidInput(
            [FieldError(("valid_days",), "out_of_range", f"between {low} and {high} days")]
        )
    now = utcnow()
    while True:
        code = receipts.new_code(INVITE_SYMBOLS)
        digest = invite_hash(index, code)
        assert digest is not None
        if session.exec(select(Invite.id).where(Invite.code_hash == digest)).first() is None:
            break
    invite = Invite(
        code_hash=digest,
        created_at=now,
        expires_at=now + timedelta(days=valid_days),
        issued_by=issued_by,
    )
    session.add(invite)
    session.flush()
    return code, invite


def use_invite(session: Session, *, code_hash: bytes) -> tuple[InviteOutcome, str | None]:
    """Spend an invite: (accepted, its issuer) if it was unused and current, else why not.
    One conditional UPDATE: of two sign-ups racing for a code, exactly one changes the row."""
    now = utcnow()
    spent = rows_changed(
        session,
        update(Invite)
        .where(
            col(Invite.code_hash) == code_hash,
            col(Invite.used_at).is_(None),
            col(Invite.expires_at) > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False),
    )
    invite = session.exec(
        select(Invite)
        .where(Invite.code_hash == code_hash)
        .execution_options(populate_existing=True)
    ).first()
    if invite is None:
        return InviteOutcome.unknown, None
    if spent:
        return InviteOutcome.accepted, invite.issued_by
    return (InviteOutcome.used if invite.used_at is not None else InviteOutcome.expired), None


# ---- becoming a member ---------------------------------------------------------------------


def on_confirmed(
    session: Session,
    *,
    subscriber: Subscriber,
    settings: Settings,
    invite_hash_hex: str | None,
) -> InviteOutcome | None:
    """A subscription was just confirmed: under "open" a pending subscriber is verified at
    once; otherwise an invite code given at sign-up verifies them. Returns what became of
    the invite (None when none was given, or it was not needed)."""
    if subscriber.membership != Membership.pending:
        return None
    if settings.membership == "open":
        _verify(subscriber, how=VerifiedHow.open, by=None)
        session.add(subscriber)
        return None
    if not invite_hash_hex:
        return None
    outcome, issuer = use_invite(session, code_hash=bytes.fromhex(invite_hash_hex))
    if outcome is InviteOutcome.accepted:
        _verify(subscriber, how=VerifiedHow.invite, by=issuer)
        session.add(subscriber)
    return outcome


def _verify(subscriber: Subscriber, *, how: VerifiedHow, by: str | None) -> None:
    subscriber.membership = Membership.verified.value
    subscriber.verified_at = utcnow()
    subscriber.verified_how = how.value
    subscriber.verified_by = by


def is_verified(subscriber: Subscriber) -> bool:
    return subscriber.membership == Membership.verified


# ---- moderators' decisions ---------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    """A member as moderators see them: never the contact."""

    id: int
    channel: str
    membership: Membership
    confirmed: bool
    created_at: datetime
    verified_at: datetime | None
    verified_how: str | None
    verified_by: str | None
    regions: list[str]


def list_members(
    session: Session, *, state: Membership | None = None, limit: int = 200
) -> list[MemberRow]:
    """Members, newest first, with their regions' codes."""
    query = select(Subscriber).order_by(col(Subscriber.id).desc()).limit(limit)
    if state is not None:
        query = query.where(Subscriber.membership == state)
    subscribers = list(session.exec(query))
    regions: dict[int, list[str]] = {}
    if subscribers:
        for sid, code in session.exec(
            select(SubscriberRegion.subscriber_id, SubscriberRegion.region_code)
            .where(col(SubscriberRegion.subscriber_id).in_([s.id for s in subscribers]))
            .order_by(col(SubscriberRegion.region_code))
        ):
            regions.setdefault(sid, []).append(code)
    return [member_row(s, regions.get(s.id or 0, [])) for s in subscribers]


def member_row(subscriber: Subscriber, regions: list[str]) -> MemberRow:
    return MemberRow(
        id=subscriber.id or 0,
        channel=subscriber.channel,
        membership=Membership(subscriber.membership),
        confirmed=subscriber.confirmed_at is not None,
        created_at=aware(subscriber.created_at),
        verified_at=aware(subscriber.verified_at) if subscriber.verified_at else None,
        verified_how=subscriber.verified_how,
        verified_by=subscriber.verified_by,
        regions=regions,
    )


def member(session: Session, member_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, member_id, with_for_update=True)
    if subscriber is None:
        raise NotFound("No such member.")
    return subscriber


def verify(session: Session, *, member_id: int, by: str) -> Subscriber:
    """A moderator verifies a pending member: directly, or deciding their application
    (which is deleted)."""
    subscriber = member(session, member_id)
    if subscriber.membership != Membership.pending:
        raise Conflict(f"Member {member_id} is {subscriber.membership}, not pending.")
    if subscriber.confirmed_at is None:
        raise Conflict(f"Member {member_id} has not confirmed their subscription yet.")
    decided = close_application(session, subscriber_id=member_id)
    _verify(subscriber, how=VerifiedHow.application if decided else VerifiedHow.moderator, by=by)
    session.add(subscriber)
    session.flush()
    return subscriber


# Set on a session that deleted an application's evidence: on SQLite, the write-ahead log
# still holds the deleted page until it is truncated after the commit (applications.py).
EVIDENCE_DELETED = "redflag.evidence_deleted"


def close_application(session: Session, *, subscriber_id: int) -> bool:
    """A decision is made: the member's application row, and its evidence, are deleted
    (SQLite overwrites it: PRAGMA secure_delete). Whether there was one."""
    deleted = rows_changed(
        session, delete(Application).where(col(Application.subscriber_id) == subscriber_id)
    )
    if deleted:
        session.info[EVIDENCE_DELETED] = True
    return bool(deleted)


def suspend(session: Session, *, member_id: int) -> Subscriber:
    """No more alerts or check results; messages still waiting for them are cancelled, and
    an application waiting is closed (its evidence deleted): suspending decides it."""
    subscriber = member(session, member_id)
    if subscriber.membership == Membership.suspended:
        raise Conflict(f"Member {member_id} is suspended already.")
    subscriber.membership = Membership.suspended.value
    session.add(subscriber)
    delivery.forget_subscriber(session, subscriber_id=member_id)
    close_application(session, subscriber_id=member_id)  # a decision: the evidence goes now
    session.flush()
    return subscriber


def reinstate(session: Session, *, member_id: int) -> Subscriber:
    """A suspended member is a member again, as verified as they were."""
    subscriber = member(session, member_id)
    if subscriber.membership != Membership.suspended:
        raise Conflict(f"Member {member_id} is {subscriber.membership}, not suspended.")
    subscriber.membership = (
        Membership.verified.value if subscriber.verified_at else Membership.pending.value
    )
    session.add(subscriber)
    session.flush()
    return subscriber


def remove(session: Session, *, member_id: int) -> None:
    """The subscription is deleted, as STOP does; they may sign up again, as pending."""
    subscriber = member(session, member_id)
    delivery.forget_subscriber(session, subscriber_id=member_id)
    close_application(session, subscriber_id=member_id)
    session.delete(subscriber)
    session.flush()
