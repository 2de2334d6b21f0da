"""Applications: a pending subscriber tells moderators what lets them see that they work
(a link to an ad, a project that knows them, a few words).

The evidence is encrypted, one application per subscriber, and the row is deleted at the
moderator's decision (membership.verify, or reject here) or after
REDFLAG_APPLICATION_DAYS if nobody decided: what stays is "verified on this date, way
application, by this moderator". A pending subscriber reaches the form by a link token
(one_time.py, purpose "apply") from the page after confirming or the reply to JOIN, or
with a member token (alerts/check/members.py).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, delete, select

from alerts import membership
from alerts.delivery import outbox as delivery
from alerts.models import (
    PURPOSE_APPLICATION,
    Application,
    CodePurpose,
    Membership,
    Subscriber,
    SubscriberRegion,
)
from alerts.subscriptions import one_time
from app.crypto import Crypto, FieldCipher
from app.db import aware, rows_changed, utcnow
from app.errors import Conflict, FieldError, InvalidInput
from app.i18n import Translator
from app.regions import service as regions_service
from app.retention import Policy
from app.settings import Settings

EVIDENCE_CHARS = 1000
LINK_CHARS = 300
LINK_HOURS = 72  # the link from the page after confirming, or from the reply to JOIN

log = logging.getLogger("redflag.applications")


class NotPending(Conflict):
    def __init__(self, state: str) -> None:
        super().__init__(f"Only a pending subscriber can apply: this membership is {state}.")


@dataclass(frozen=True)
class Waiting:
    """An application as the moderator reads it: the member's id, never their contact."""

    member_id: int
    received_at: datetime
    regions: list[str]
    language: str
    evidence: str
    link: str | None


# ---- applying ---------------------------------------------------------------------------


def form_link(
    session: Session, *, subscriber: Subscriber, crypto: Crypto, settings: Settings
) -> str:
    """A link to the application form for a pending subscriber (a one-time token: it never
    carries the contact), in their language."""
    token = one_time.issue(
        session, subscriber=subscriber, purpose=CodePurpose.apply, crypto=crypto,
        lifetime=timedelta(hours=LINK_HOURS), link=True,
    )  # fmt: skip
    return f"{settings.public_url.rstrip('/')}/{subscriber.language}/apply?t={token}"


def subscriber_for_link(session: Session, *, token: str, crypto: Crypto) -> Subscriber | None:
    """Whose application form link this is, if it is current; the link is not spent."""
    row = one_time.find_link(session, token=token, crypto=crypto, purpose=CodePurpose.apply)
    return None if row is None else session.get(Subscriber, row.subscriber_id)


def spend_link(session: Session, *, token: str, crypto: Crypto) -> Subscriber:
    """The subscriber behind an application form link, which is spent; CodeRejected if it
    is wrong or has expired."""
    row = one_time.redeem_link(session, token=token, crypto=crypto, purpose=CodePurpose.apply)
    subscriber = session.get(Subscriber, row.subscriber_id)
    assert subscriber is not None  # the link goes with its subscriber (ON DELETE CASCADE)
    return subscriber


def is_waiting(session: Session, *, subscriber_id: int) -> bool:
    """Whether this subscriber's application is waiting for a moderator."""
    found = session.exec(
        select(Application.id).where(Application.subscriber_id == subscriber_id)
    ).first()
    return found is not None


def checked(evidence: str, link: str | None) -> tuple[str, str | None]:
    """The evidence and link as stored; InvalidInput naming each field that is wrong."""
    errors = []
    evidence = evidence.strip()
    if not evidence:
        errors.append(FieldError(("evidence",), "missing", "say how we can see that you work"))
    elif len(evidence) > EVIDENCE_CHARS:
        errors.append(FieldError(("evidence",), "too_long", f"at most {EVIDENCE_CHARS} characters"))
    link = (link or "").strip() or None
    if link is not None:
        if "://" not in link:
            link = f"https://{link}"
        parts = urlsplit(link)
        if (
            len(link) > LINK_CHARS
            or parts.scheme not in {"http", "https"}
            or "." not in parts.netloc
            or any(c.isspace() for c in link)
        ):
            errors.append(
                FieldError(("link",), "invalid_link", "not a web address (like example.com/ad)")
            )
    if errors:
        raise InvalidInput(errors)
    return evidence, link


def submit(
    session: Session,
    *,
    subscriber: Subscriber,
    evidence: str,
    link: str | None,
    cipher: FieldCipher,
) -> Application:
    """A pending subscriber's application, encrypted; Conflict if they are not pending or
    one is already waiting."""
    evidence, link = checked(evidence, link)
    if subscriber.membership != Membership.pending or subscriber.confirmed_at is None:
        raise NotPending(subscriber.membership if subscriber.confirmed_at else "not confirmed")
    assert subscriber.id is not None
    if is_waiting(session, subscriber_id=subscriber.id):
        raise Conflict("Your application is waiting for a moderator already.")
    words = json.dumps({"evidence": evidence, "link": link})
    application = Application(
        subscriber_id=subscriber.id,
        evidence_enc=cipher.encrypt(words, purpose=PURPOSE_APPLICATION),
        received_at=utcnow(),
    )
    session.add(application)
    session.flush()
    return application


# ---- moderators ---------------------------------------------------------------------------


def waiting(session: Session, *, cipher: FieldCipher, limit: int = 100) -> list[Waiting]:
    """Applications of pending members, oldest first, decrypted for the moderator."""
    rows = session.exec(
        select(Application, Subscriber)
        .join(Subscriber, col(Subscriber.id) == Application.subscriber_id)
        .where(Subscriber.membership == Membership.pending)
        .order_by(col(Application.received_at), col(Application.id))
        .limit(limit)
    ).all()
    regions: dict[int, list[str]] = {}
    for sid, code in session.exec(
        select(SubscriberRegion.subscriber_id, SubscriberRegion.region_code)
        .where(col(SubscriberRegion.subscriber_id).in_([a.subscriber_id for a, _ in rows]))
        .order_by(col(SubscriberRegion.region_code))
    ):
        regions.setdefault(sid, []).append(code)
    listed = []
    for application, subscriber in rows:
        words = json.loads(cipher.decrypt(application.evidence_enc, purpose=PURPOSE_APPLICATION))
        listed.append(
            Waiting(
                member_id=application.subscriber_id,
                received_at=aware(application.received_at),
                regions=regions.get(application.subscriber_id, []),
                language=subscriber.language,
                evidence=str(words["evidence"]),
                link=words.get("link"),
            )
        )
    return listed


def reject(session: Session, *, member_id: int) -> Subscriber:
    """The application is turned down and deleted; the subscriber stays pending (they may
    still be verified by an invite code, or apply again). Conflict if none is waiting."""
    subscriber = membership.member(session, member_id)
    if subscriber.membership != Membership.pending:
        raise Conflict(f"Member {member_id} is {subscriber.membership}, not pending.")
    if not membership.close_application(session, subscriber_id=member_id):
        raise Conflict(f"Member {member_id} has no application waiting.")
    return subscriber


def tell(session: Session, *, subscriber: Subscriber, verified: bool, cipher: FieldCipher) -> None:
    """The decision, to the applicant in their language, through the outbox: verified, or
    a short kind no (never the moderator's reasons)."""
    assert subscriber.id is not None
    t = Translator(subscriber.language)
    if verified:
        codes = [
            c
            for c in session.exec(
                select(SubscriberRegion.region_code).where(
                    SubscriberRegion.subscriber_id == subscriber.id
                )
            )
        ]
        names = ", ".join(regions_service.names(session, codes))
        text, subject = t("apply.verified", regions=names), t("apply.verified_subject")
    else:
        text, subject = t("apply.rejected"), t("apply.rejected_subject")
    delivery.send_once(session, subscriber=subscriber, text=text, subject=subject, cipher=cipher)


def purge_undecided(session: Session, policy: Policy) -> int:
    """Retention: applications nobody decided on go after REDFLAG_APPLICATION_DAYS, with
    their evidence; the subscriber stays pending and may apply again. Returns how many."""
    deleted = rows_changed(
        session,
        delete(Application).where(
            col(Application.received_at) <= policy.before(policy.application_days)
        ),
    )
    if deleted:
        session.info[membership.EVIDENCE_DELETED] = True
    return deleted


@event.listens_for(OrmSession, "after_commit")
def _truncate_sqlite_log(session: OrmSession) -> None:
    """SQLite overwrites a deleted row in the database file (secure_delete), but its
    write-ahead log keeps the page as it was until the log is truncated: done after a
    commit that deleted evidence, so the ciphertext is gone from every file. Best effort:
    a checkpoint that cannot finish now is left to a later one."""
    if not session.info.pop(membership.EVIDENCE_DELETED, False):
        return
    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return
    # On the driver's own connection: outside a transaction (SQLAlchemy's would BEGIN).
    raw = bind.raw_connection()
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError:
        log.info("the SQLite write-ahead log could not be truncated now; a later decision will")
    finally:
        raw.close()


@event.listens_for(OrmSession, "after_rollback")
def _nothing_deleted(session: OrmSession) -> None:
    session.info.pop(membership.EVIDENCE_DELETED, None)
