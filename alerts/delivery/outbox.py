"""The delivery outbox: who gets which message, and where each one stands.

Publishing an alert writes one `delivery` row per recipient in the same transaction as
the alert, with one INSERT ... SELECT over the matching subscribers. Workers claim due
rows in batches under a lease (FOR UPDATE SKIP LOCKED on PostgreSQL, so many workers
share the work; SQLite has one writer at a time), send them, and record the outcome.
A worker that dies leaves its rows "sending" with a lease that runs out; then they are
due again, so nothing is lost. A row whose send was accepted but not yet recorded when
the worker died is sent again: duplicates are bounded by the batch in flight.
"""

from __future__ import annotations

import functools
import json
import random
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    DateTime,
    bindparam,
    case,
    delete,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import TextClause
from sqlmodel import Session, col, func

from alerts.models import (
    CLAIMABLE,
    Alert,
    Delivery,
    DeliveryStatus,
    DeliveryTally,
    MessageKind,
    Severity,
    Subscriber,
    SubscriberRegion,
)
from app.db import rows_changed, utcnow
from app.retention import Policy

COLUMNS = [
    "alert_id",
    "subscriber_id",
    "channel",
    "kind",
    "update_no",
    "status",
    "attempts",
    "due_at",
    "created_at",
    "updated_at",
]
PENDING = DeliveryStatus.pending.value
SENDING = DeliveryStatus.sending.value
SENT = DeliveryStatus.sent.value
GONE_OUT = [  # handed to the provider, or possibly (a worker died while sending)
    SENDING,
    DeliveryStatus.sent.value,
    DeliveryStatus.delivered.value,
    DeliveryStatus.undelivered.value,
]
FINAL = {
    DeliveryStatus.delivered.value,
    DeliveryStatus.undelivered.value,
    DeliveryStatus.failed.value,
    DeliveryStatus.cancelled.value,
}


def fan_out(session: Session, *, alert: Alert, reach: set[str]) -> int:
    """One pending delivery per confirmed, reachable subscriber whose regions overlap the
    alert's (`reach`) and whose minimum severity it meets. One statement; returns the count."""
    assert alert.id is not None
    now = utcnow()
    rank = Severity(alert.severity).rank
    in_region = (
        select(SubscriberRegion.subscriber_id)  # type: ignore[call-overload]
        .where(
            SubscriberRegion.subscriber_id == Subscriber.id,
            col(SubscriberRegion.region_code).in_(reach),
        )
        .exists()
    )
    recipients = select(
        literal(alert.id),
        col(Subscriber.id),
        col(Subscriber.channel),
        literal(MessageKind.alert.value),
        literal(0),
        literal(PENDING),
        literal(0),
        literal(now),
        literal(now),
        literal(now),
    ).where(
        col(Subscriber.confirmed_at).is_not(None),
        col(Subscriber.unreachable_at).is_(None),
        col(Subscriber.min_severity_rank) <= rank,
        in_region,
    )
    written = rows_changed(session, insert(Delivery).from_select(COLUMNS, recipients))
    session.flush()
    return written


def retract(session: Session, *, alert: Alert) -> tuple[int, int]:
    """What has not gone out is cancelled; who got the alert (or may have) gets a retraction.
    Returns (cancelled, retractions)."""
    assert alert.id is not None
    now = utcnow()
    cancelled = rows_changed(
        session,
        update(Delivery)
        .where(
            col(Delivery.alert_id) == alert.id,
            col(Delivery.kind).in_([MessageKind.alert, MessageKind.update]),
            col(Delivery.status) == PENDING,
        )
        .values(status=DeliveryStatus.cancelled.value, due_at=None, updated_at=now),
    )
    retractions = _to_the_alerts_recipients(
        session, alert=alert, kind=MessageKind.retraction, statuses=GONE_OUT, due=literal(now)
    )
    return cancelled, retractions


def send_update(session: Session, *, alert: Alert, number: int) -> int:
    """Update `number` goes to everyone the alert went to, or is still going to: never
    before the alert itself (a recipient whose alert waits for a retry gets the update
    when the alert is due). Returns how many."""
    now = utcnow()
    return _to_the_alerts_recipients(
        session,
        alert=alert,
        kind=MessageKind.update,
        update_no=number,
        statuses=[PENDING, *GONE_OUT],
        due=case((col(Delivery.due_at) > now, col(Delivery.due_at)), else_=literal(now)),
    )


def _to_the_alerts_recipients(
    session: Session,
    *,
    alert: Alert,
    kind: MessageKind,
    statuses: list[str],
    due: Any,
    update_no: int = 0,
) -> int:
    """A `kind` message for each recipient of the alert whose alert message is in
    `statuses`, due at `due`. One statement; returns the count."""
    assert alert.id is not None
    now = utcnow()
    recipients = select(
        literal(alert.id),
        col(Delivery.subscriber_id),
        col(Delivery.channel),
        literal(kind.value),
        literal(update_no),
        literal(PENDING),
        literal(0),
        due,
        literal(now),
        literal(now),
    ).where(
        col(Delivery.alert_id) == alert.id,
        col(Delivery.kind) == MessageKind.alert,
        col(Delivery.subscriber_id).is_not(None),
        col(Delivery.status).in_(statuses),
    )
    written = rows_changed(session, insert(Delivery).from_select(COLUMNS, recipients))
    session.flush()
    return written


def forget_subscriber(session: Session, *, subscriber_id: int) -> None:
    """A subscriber leaves: their pending messages go with them."""
    session.execute(
        update(Delivery)
        .where(
            col(Delivery.subscriber_id) == subscriber_id,
            col(Delivery.status).in_([PENDING, SENDING]),
        )
        .values(status=DeliveryStatus.cancelled.value, due_at=None, updated_at=utcnow())
    )


# ---- the worker's side ---------------------------------------------------------------------------


JOB_COLUMNS = (
    "id",
    "alert_id",
    "subscriber_id",
    "channel",
    "kind",
    "update_no",
    "attempts",
    "created_at",
)


class Job(NamedTuple):
    """One message a worker has claimed, with its recipient's encrypted contact and
    language (None if the recipient has gone meanwhile). Tuples: thousands a second."""

    delivery_id: int
    alert_id: int
    subscriber_id: int
    channel: str
    kind: str
    update_no: int
    attempts: int
    created_at: datetime
    contact_enc: bytes | None
    language: str | None


@functools.cache
def _claim(postgresql: bool) -> Any:
    """Built once: the due rows (oldest first, at most b_batch; on PostgreSQL skipping rows
    another worker holds) become "sending" until b_lease_end, and come back with their
    recipients, all in one statement."""
    due = (
        select(Delivery.id)  # type: ignore[call-overload]
        .where(
            # the partial ix_delivery_due's own predicate, in so many words (not bound
            # values), so the planner can see that the index holds every row this may take
            text(CLAIMABLE),
            col(Delivery.due_at) <= bindparam("b_now"),
            col(Delivery.channel).in_(bindparam("b_channels", expanding=True)),
            col(Delivery.subscriber_id).is_not(None),
        )
        .order_by(Delivery.due_at)
        .limit(bindparam("b_batch"))
    )
    if postgresql:
        due = due.with_for_update(skip_locked=True)

    def recipients(column: Any) -> Any:
        of_this_row = col(Subscriber.id) == col(Delivery.subscriber_id)
        return select(column).where(of_this_row).scalar_subquery()

    return (
        update(Delivery)
        .where(col(Delivery.id).in_(due.scalar_subquery()))
        .values(
            status=SENDING,
            due_at=bindparam("b_lease_end"),
            attempts=Delivery.attempts + 1,
            updated_at=bindparam("b_now"),
        )
        .returning(
            *(col(getattr(Delivery, name)) for name in JOB_COLUMNS),
            recipients(Subscriber.contact_enc),
            recipients(Subscriber.language),
        )
    )


def claim_due(
    session: Session, *, batch: int, lease: timedelta, channels: Sequence[str]
) -> list[Job]:
    """Take up to `batch` due deliveries for this worker; the caller commits at once."""
    now = utcnow()
    connection = session.connection()
    rows = connection.execute(
        _claim(connection.dialect.name == "postgresql"),
        {"b_now": now, "b_lease_end": now + lease, "b_batch": batch, "b_channels": channels},
    )
    return [Job._make(row) for row in rows]


def release(session: Session, *, ids: Sequence[int]) -> None:
    """Claimed but not sent (the worker is stopping): due again at once, the claim not
    counted as an attempt."""
    if not ids:
        return
    session.execute(
        update(Delivery)
        .where(col(Delivery.id).in_(ids), col(Delivery.status) == SENDING)
        .values(status=PENDING, due_at=utcnow(), attempts=Delivery.attempts - 1)
    )


class Outcome(NamedTuple):
    delivery_id: int
    status: str  # sent, pending (retry), failed
    provider_id: str | None = None
    error_code: str | None = None
    retry_at: datetime | None = None


def backoff(
    attempts: int, *, base: float = 5.0, cap: float = 900.0, rng: random.Random | None = None
) -> timedelta:
    """Exponential backoff with full jitter: a wait somewhere in [base, min(cap, base·2^n)]."""
    ceiling = min(cap, base * (2 ** max(attempts - 1, 0)))
    return timedelta(seconds=(rng or random).uniform(base, max(base, ceiling)))


# A batch of outcomes is one statement with its rows in one JSON document: a statement per
# row costs more than sending the message, at thousands a second. Only rows still leased
# ("sending") change. The databases differ only in how they read the document.
_RECORD = """
    UPDATE delivery SET status = batch.status, error_code = batch.error_code,
        provider_id = batch.provider_id, sent_at = batch.sent_at, due_at = batch.due_at,
        updated_at = :now
    FROM {batch}
    WHERE delivery.id = batch.id AND delivery.status = :sending
"""


def _record_from(batch: str) -> TextClause:
    return text(_RECORD.format(batch=batch)).bindparams(
        bindparam("now", type_=DateTime(timezone=True))
    )


_RECORD_POSTGRESQL = _record_from(
    """jsonb_to_recordset(CAST(:batch AS JSONB)) AS batch(
        id BIGINT, status VARCHAR, error_code VARCHAR, provider_id VARCHAR,
        sent_at TIMESTAMPTZ, due_at TIMESTAMPTZ
    )"""
)
_RECORD_SQLITE = _record_from(
    """(
        SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.status') AS status,
            json_extract(value, '$.error_code') AS error_code,
            json_extract(value, '$.provider_id') AS provider_id,
            json_extract(value, '$.sent_at') AS sent_at, json_extract(value, '$.due_at') AS due_at
        FROM json_each(:batch)
    ) AS batch"""
)


def record(session: Session, outcomes: Sequence[Outcome]) -> None:
    """Write a batch's outcomes in one statement; only rows still leased ("sending")
    change."""
    if not outcomes:
        return
    now = utcnow()
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:
        when: Callable[[datetime | None], str | None] = _isoformat
    else:  # as SQLite keeps times: text in SQLAlchemy's own format
        processor = DateTime(timezone=True).dialect_impl(connection.dialect)
        when = processor.bind_processor(connection.dialect)  # type: ignore[assignment]
    sent_at = when(now)
    batch = json.dumps(
        [
            {
                "id": o.delivery_id,
                "status": o.status,
                "error_code": o.error_code,
                "provider_id": o.provider_id if o.status == SENT else None,
                "sent_at": sent_at if o.status == SENT else None,
                "due_at": when(o.retry_at) if o.status == PENDING else None,
            }
            for o in outcomes
        ]
    )
    statement = _RECORD_POSTGRESQL if postgresql else _RECORD_SQLITE
    connection.execute(statement, {"batch": batch, "now": now, "sending": SENDING})


def _isoformat(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# Provider status callbacks: which reports may replace which.
_CALLBACK_STATUS = {
    "delivered": DeliveryStatus.delivered.value,
    "undelivered": DeliveryStatus.undelivered.value,
    "failed": DeliveryStatus.failed.value,
}


def apply_status(
    session: Session, *, provider_id: str, status: str, error_code: str | None
) -> Delivery | None:
    """A provider's report on a sent message. Repeats and late, older reports change nothing."""
    new = _CALLBACK_STATUS.get(status)
    if new is None:
        return None  # queued, sending, sent: nothing we do not know already
    query = select(Delivery).where(col(Delivery.provider_id) == provider_id).with_for_update()
    delivery = session.execute(query).scalars().first()
    if delivery is None or delivery.status == DeliveryStatus.delivered or delivery.status == new:
        return delivery
    delivery.status = new
    delivery.error_code = error_code
    delivery.updated_at = utcnow()
    session.add(delivery)
    session.flush()
    return delivery


def counts(session: Session, *, alert_id: int) -> dict[str, int]:
    """An alert's messages by status (every kind and channel), pruned ones included."""
    total: Counter[str] = Counter()
    for status, n in session.execute(
        select(col(Delivery.status), func.count())
        .where(col(Delivery.alert_id) == alert_id)
        .group_by(col(Delivery.status))
    ):
        total[status] += int(n)
    for status, n in session.execute(
        select(col(DeliveryTally.status), func.sum(DeliveryTally.count))
        .where(col(DeliveryTally.alert_id) == alert_id)
        .group_by(col(DeliveryTally.status))
    ):
        total[status] += int(n)
    return dict(total)


def prune(session: Session, policy: Policy) -> int:
    """Retention: delivery rows whose outcome is settled and older than policy.delivery_days
    go (they link a subscriber to an alert); their counts stay in delivery_tally. Rows still
    waiting or being sent are never pruned. Returns how many rows went."""
    settled = [DeliveryStatus.sent.value, *FINAL]
    gone = session.execute(
        delete(Delivery)
        .where(
            col(Delivery.status).in_(settled),
            col(Delivery.updated_at) <= policy.before(policy.delivery_days),
        )
        .returning(
            col(Delivery.alert_id), col(Delivery.channel), col(Delivery.kind), col(Delivery.status)
        )
    ).all()
    tallies = Counter(tuple(row) for row in gone)
    if tallies:
        insert_for = (
            postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        statement = insert_for(DeliveryTally).values(
            [
                {"alert_id": a, "channel": c, "kind": k, "status": st, "count": n}
                for (a, c, k, st), n in tallies.items()
            ]
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["alert_id", "channel", "kind", "status"],
                set_={"count": DeliveryTally.count + statement.excluded.count},
            )
        )
    session.flush()
    return len(gone)


def deadline_passed(job: Job, *, hours: int, now: datetime) -> bool:
    created = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=now.tzinfo)
    return now - created > timedelta(hours=hours)
