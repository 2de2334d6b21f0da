"""Members who checked more different numbers in a day than allowed, as moderators see
them (alerts/check/watch.py keeps the list). Each look at the list is audited."""

from __future__ import annotations

from sqlmodel import Session

from alerts.check import watch
from alerts.check.watch import WatchedMember
from moderation import audit
from moderation.models import Moderator


def listing(session: Session, *, moderator: Moderator) -> list[WatchedMember]:
    """The watch list, newest day first; the look is recorded in the audit log."""
    audit.record(
        session,
        moderator_id=moderator.id,
        action="check_watch.view",
        target_type="check_watch",
        target_id="list",
    )
    return watch.watched(session)
