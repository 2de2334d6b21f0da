"""Moderators and membership: invite codes, and verifying, suspending, reinstating and
removing members. Each is recorded in the audit log by the member's id and a fixed reason
code (the log keeps no free text), never a contact or a code."""

from __future__ import annotations

from sqlmodel import Session

from alerts import membership
from alerts.membership import MemberRow, Reason
from alerts.models import Invite, Membership
from alerts.subscriptions import service as subscriptions
from app.crypto import BlindIndex
from moderation import audit
from moderation.models import Moderator

TARGET = "subscriber"


def issue_invite(
    session: Session, *, moderator: Moderator, index: BlindIndex, valid_days: int
) -> tuple[str, Invite]:
    """A new invite code from this moderator: the code is shown once, never stored."""
    code, invite = membership.issue_invite(
        session, index=index, issued_by=membership.by_moderator(moderator.id), valid_days=valid_days
    )
    audit.record(
        session,
        moderator_id=moderator.id,
        action="invite.issued",
        target_type="invite",
        target_id=invite.id,
    )
    return code, invite


def _row(session: Session, member_id: int) -> MemberRow:
    subscriber = membership.member(session, member_id)
    return membership.member_row(subscriber, subscriptions.region_codes(session, member_id))


def verify(session: Session, *, moderator: Moderator, member_id: int) -> MemberRow:
    membership.verify(session, member_id=member_id, by=membership.by_moderator(moderator.id))
    _record(session, moderator, "member.verified", member_id)
    return _row(session, member_id)


def suspend(session: Session, *, moderator: Moderator, member_id: int, reason: Reason) -> MemberRow:
    membership.suspend(session, member_id=member_id)
    _record(session, moderator, f"member.suspended.{reason.value}", member_id)
    return _row(session, member_id)


def reinstate(session: Session, *, moderator: Moderator, member_id: int) -> MemberRow:
    membership.reinstate(session, member_id=member_id)
    _record(session, moderator, "member.reinstated", member_id)
    return _row(session, member_id)


def remove(session: Session, *, moderator: Moderator, member_id: int, reason: Reason) -> None:
    membership.remove(session, member_id=member_id)
    _record(session, moderator, f"member.{Membership.removed.value}.{reason.value}", member_id)


def _record(session: Session, moderator: Moderator, action: str, member_id: int) -> None:
    audit.record(
        session, moderator_id=moderator.id, action=action, target_type=TARGET, target_id=member_id
    )
