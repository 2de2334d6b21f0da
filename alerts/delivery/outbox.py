"""The delivery outbox: who gets which message, and where each one stands.

Publishing an alert writes one `delivery` row per recipient in the same transaction as
the alert, with one INSERT ... SELECT over the matching subscribers; updates and
retractions follow the alert to its recipients the same way. A one-off message (a code or
a link) is a row of its own with its text encrypted, written by the request that asks for
it: no request waits for a provider, so none tells by its time or its answer whether a
number or address is subscribed. Here too: a provider's delivery report on a message, the
counts per alert, and retention. The worker's side (claiming, handing back, recording
outcomes) is in claims.py.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    case,
    delete,
    insert,
    literal,
    select,
    update,
)
from sqlmodel import Session, col, func

from alerts.models import (
    PURPOSE_MESSAGE_TEXT,
    Alert,
    Delivery,
    DeliveryStatus,
    DeliveryTally,
    Membership,
    MessageKind,
    Severity,
    Subscriber,
    SubscriberRegion,
)
from app.crypto import FieldCipher
from app.db import insert_for, rows_changed, utcnow
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
    """One pending delivery per confirmed, verified, reachable subscriber whose regions
    overlap the alert's (`reach`) and whose minimum severity it meets (pending and suspended
    members get none). One statement; returns the count."""
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
        col(Subscriber.membership) == Membership.verified,
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
    `statuses`, due at `due`; an update only to those still verified members (a suspended
    member hears no news). One statement; returns the count."""
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
    if kind is MessageKind.update:
        recipients = recipients.where(
            select(Subscriber.id)  # type: ignore[call-overload]
            .where(
                Subscriber.id == Delivery.subscriber_id,
                col(Subscriber.membership) == Membership.verified,
            )
            .exists()
        )
    written = rows_changed(session, insert(Delivery).from_select(COLUMNS, recipients))
    session.flush()
    return written


def send_once(
    session: Session,
    *,
    subscriber: Subscriber,
    text: str,
    subject: str | None,
    cipher: FieldCipher,
) -> None:
    """A one-off message (a code, a link) to this subscriber, due now: the worker sends it
    like any other, with retries. The text is stored encrypted (it holds a code)."""
    assert subscriber.id is not None
    now = utcnow()
    words = json.dumps({"text": text, "subject": subject})
    session.add(
        Delivery(
            subscriber_id=subscriber.id,
            channel=subscriber.channel,
            kind=MessageKind.code.value,
            text_enc=cipher.encrypt(words, purpose=PURPOSE_MESSAGE_TEXT),
            status=PENDING,
            due_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()


def one_off_text(blob: bytes, cipher: FieldCipher) -> tuple[str, str | None]:
    """A one-off message's (text, subject), from what send_once stored."""
    words = json.loads(cipher.decrypt(blob, purpose=PURPOSE_MESSAGE_TEXT))
    return str(words["text"]), words.get("subject")


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


def counts_by_channel(session: Session, *, alert_id: int) -> dict[tuple[str, str], Counter[str]]:
    """An alert's messages by (kind, channel), each by status, pruned ones included."""
    found: dict[tuple[str, str], Counter[str]] = {}
    for table in (Delivery, DeliveryTally):
        count = func.count() if table is Delivery else func.sum(col(DeliveryTally.count))
        rows = session.execute(
            select(col(table.kind), col(table.channel), col(table.status), count)
            .where(col(table.alert_id) == alert_id)
            .group_by(col(table.kind), col(table.channel), col(table.status))
        )
        for kind, channel, status, n in rows:
            found.setdefault((kind, channel), Counter())[status] += int(n)
    return found


def alert_recipients(session: Session, *, alert_id: int) -> Counter[str]:
    """The subscribers an alert went to, or is going to, by their alert message's status:
    whom an update or a retraction would reach (rows already pruned cannot be reached)."""
    rows = session.execute(
        select(col(Delivery.status), func.count())
        .where(
            col(Delivery.alert_id) == alert_id,
            col(Delivery.kind) == MessageKind.alert,
            col(Delivery.subscriber_id).is_not(None),
        )
        .group_by(col(Delivery.status))
    )
    return Counter({status: int(n) for status, n in rows})


ONE_OFF_HOURS = 24  # a code or link not sent by then is of no use: its code has expired


def prune(session: Session, policy: Policy) -> int:
    """Retention: delivery rows whose outcome is settled and older than policy.delivery_days
    go (they link a subscriber to an alert); their counts stay in delivery_tally. Rows still
    waiting or being sent are never pruned. One-off messages (codes) go once settled, or
    after ONE_OFF_HOURS whatever became of them, uncounted. Returns how many rows went."""
    settled = [DeliveryStatus.sent.value, *FINAL]
    one_offs = rows_changed(
        session,
        delete(Delivery).where(
            col(Delivery.kind) == MessageKind.code.value,
            col(Delivery.status).in_(settled)
            | col(Delivery.subscriber_id).is_(None)
            | (col(Delivery.created_at) <= policy.now - timedelta(hours=ONE_OFF_HOURS)),
        ),
    )
    gone = session.execute(
        delete(Delivery)
        .where(
            col(Delivery.kind) != MessageKind.code.value,
            col(Delivery.status).in_(settled),
            col(Delivery.updated_at) <= policy.before(policy.delivery_days),
        )
        .returning(
            col(Delivery.alert_id), col(Delivery.channel), col(Delivery.kind), col(Delivery.status)
        )
    ).all()
    tallies = Counter(tuple(row) for row in gone)
    if tallies:
        statement = insert_for(session)(DeliveryTally).values(
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
    return one_offs + len(gone)
