"""Moderators and membership: invite codes, the verification queue (applications), and
verifying, rejecting, suspending, reinstating and removing members. Each is recorded in the
audit log by the member's id and a fixed reason code (the log keeps no free text), never a
contact, a code or an application's evidence."""

from __future__ import annotations

from sqlmodel import Session

from alerts import applications, membership
from alerts.applications import Waiting
from alerts.membership import MemberRow, Reason
from alerts.models import Invite, Membership, VerifiedHow
from alerts.subscriptions import service as subscriptions
from app.crypto import BlindIndex, FieldCipher
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
        action="invite.issue",
        target_type="invite",
        target_id=invite.id,
    )
    return code, invite


def _row(session: Session, member_id: int) -> MemberRow:
    subscriber = membership.member(session, member_id)
    return membership.member_row(subscriber, subscriptions.region_codes(session, member_id))


def verify(
    session: Session, *, moderator: Moderator, member_id: int, cipher: FieldCipher
) -> MemberRow:
    """Verify a pending member, directly or by their application (whose evidence is deleted
    now); they are told, in their language, through the outbox."""
    subscriber = membership.verify(
        session, member_id=member_id, by=membership.by_moderator(moderator.id)
    )
    decided = subscriber.verified_how == VerifiedHow.application
    _record(session, moderator, "application.verified" if decided else "member.verified", member_id)
    applications.tell(session, subscriber=subscriber, verified=True, cipher=cipher)
    return _row(session, member_id)


def reject(
    session: Session, *, moderator: Moderator, member_id: int, cipher: FieldCipher
) -> MemberRow:
    """Turn down a pending member's application (its evidence is deleted now): they stay
    pending, and are told kindly, without reasons."""
    subscriber = applications.reject(session, member_id=member_id)
    _record(session, moderator, "application.rejected", member_id)
    applications.tell(session, subscriber=subscriber, verified=False, cipher=cipher)
    return _row(session, member_id)


def waiting(session: Session, *, moderator: Moderator, cipher: FieldCipher) -> list[Waiting]:
    """The verification queue, oldest first; each application shown is recorded in the
    audit log as read (by the member's id, never what it says)."""
    listed = applications.waiting(session, cipher=cipher)
    for application in listed:
        _record(session, moderator, "application.view", application.member_id)
    return listed


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
