"""The audit log: who did what to which report, alert or account, and when.

Entries hold an action name and a target id, never report text or identifiers. They
are only ever added: the ORM refuses to flush a change or deletion of one (below), and
the database refuses too (triggers in migration 0002).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from app.db import aware, utcnow
from moderation.models import AuditEntry, Moderator


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(OrmSession, "before_flush")
def _refuse_changes(session: OrmSession, _context: Any, _instances: Any) -> None:
    for entry in list(session.dirty) + list(session.deleted):
        if isinstance(entry, AuditEntry) and (
            entry in session.deleted or session.is_modified(entry)
        ):
            raise AppendOnlyError("the audit log is append-only")


def record(
    session: Session, *, moderator_id: int | None, action: str, target_type: str, target_id: object
) -> None:
    session.add(
        AuditEntry(
            at=utcnow(),
            moderator_id=moderator_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
        )
    )
    session.flush()


def record_alert(session: Session, *, moderator: Moderator, action: str, ref: str) -> None:
    """What a moderator did to an alert, by its reference."""
    record(session, moderator_id=moderator.id, action=action, target_type="alert", target_id=ref)


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    moderator: str | None
    action: str
    target_type: str
    target_id: str


def entries(
    session: Session,
    *,
    before_id: int | None = None,
    limit: int = 100,
    target: tuple[str, str] | None = None,
) -> list[AuditEntryPublic]:
    """Newest first; page with `before_id`."""
    query = (
        select(AuditEntry, Moderator.username)
        .join(Moderator, col(Moderator.id) == AuditEntry.moderator_id, isouter=True)
        .order_by(col(AuditEntry.id).desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    if target is not None:
        query = query.where(AuditEntry.target_type == target[0], AuditEntry.target_id == target[1])
    return [
        AuditEntryPublic(
            id=e.id or 0,
            at=aware(e.at),
            moderator=username,
            action=e.action,
            target_type=e.target_type,
            target_id=e.target_id,
        )
        for e, username in session.exec(query).all()
    ]
