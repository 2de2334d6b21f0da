"""From a published alert to messages at the fake Twilio and the SMTP server."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, update
from sqlmodel import Session, col, func, select

from alerts import service as alerts_service
from alerts.delivery import claims, pacing
from alerts.delivery.pacing import Pacer
from alerts.delivery.providers import build, close_all
from alerts.delivery.worker import make_worker
from alerts.models import (
    Alert,
    Channel,
    Delivery,
    DeliveryStatus,
    DeliveryTally,
    Severity,
    Subscriber,
)
from alerts.render import render_sms
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import make_session_factory, utcnow
from app.errors import Conflict
from app.settings import Settings
from tests.helpers import publish_alert

ASSEN, DRENTHE, NETHERLANDS, AMSTERDAM = "GM0106", "NL-DR", "NL", "GM0363"


def subscriber(
    session: Session,
    crypto: Crypto,
    channel: str,
    contact: str,
    regions: list[str],
    language: str = "nl",
    *,
    confirmed: bool = True,
    min_severity: Severity | None = None,
) -> Subscriber:
    created = subscriptions._new_subscriber(
        session, channel=channel, contact=contact, language=language, crypto=crypto
    )
    created.confirmed_at = utcnow() if confirmed else None
    created.membership = "verified" if confirmed else "pending"
    created.min_severity_rank = min_severity.rank if min_severity else 0
    subscriptions.set_regions(session, subscriber=created, codes=regions, replace=True)
    session.commit()
    return created


def publish(
    session: Session,
    crypto: Crypto,
    regions: list[str],
    severity: str = "high",
    text: str = "Hit a worker.",
) -> Alert:
    alert: Alert = publish_alert(session, crypto, regions, severity=severity, text=text)
    return alert


def deliveries(session: Session, alert: Alert) -> list[Delivery]:
    session.expire_all()
    return list(
        session.exec(
            select(Delivery).where(Delivery.alert_id == alert.id).order_by(col(Delivery.id))
        )
    )


@pytest.fixture
def world(session: Session, crypto: Crypto) -> dict[str, Subscriber]:
    return {
        "assen_nl": subscriber(session, crypto, "sms", "+31611111111", [ASSEN], "nl"),
        "drenthe_en": subscriber(session, crypto, "sms", "+31622222222", [DRENTHE], "en"),
        "country_es": subscriber(
            session, crypto, "email", "lucia@example.org", [NETHERLANDS], "es"
        ),
        "amsterdam": subscriber(session, crypto, "sms", "+31633333333", [AMSTERDAM], "en"),
        "unconfirmed": subscriber(session, crypto, "sms", "+31644444444", [ASSEN], confirmed=False),
        "critical_only": subscriber(
            session, crypto, "sms", "+31655555555", [ASSEN], min_severity=Severity.critical
        ),
    }


def test_publishing_writes_one_delivery_per_matching_subscriber(
    session: Session, crypto: Crypto, world: dict[str, Subscriber]
) -> None:
    alert = publish(session, crypto, [ASSEN])
    rows = deliveries(session, alert)
    recipients = {r.subscriber_id for r in rows}
    expected = {world[k].id for k in ("assen_nl", "drenthe_en", "country_es")}
    assert recipients == expected, "the town, its province and the country; not Amsterdam"
    assert all(r.status == "pending" and r.kind == "alert" and r.attempts == 0 for r in rows)

    critical = publish(session, crypto, [ASSEN], severity="critical")
    assert world["critical_only"].id in {r.subscriber_id for r in deliveries(session, critical)}


def test_an_alert_for_a_province_reaches_its_towns_subscribers(
    session: Session, crypto: Crypto, world: dict[str, Subscriber]
) -> None:
    alert = publish(session, crypto, [DRENTHE])
    assert {r.subscriber_id for r in deliveries(session, alert)} == {
        world[k].id for k in ("assen_nl", "drenthe_en", "country_es")
    }


def test_the_alert_and_its_deliveries_commit_or_roll_back_together(
    session: Session, crypto: Crypto, world: dict[str, Subscriber]
) -> None:
    before = session.exec(select(Delivery)).all()
    nested = session.begin_nested()
    alerts_service.create(
        session,
        draft=alerts_service.AlertDraft(
            text="x",
            severity=Severity.high,
            region_codes=[ASSEN],
            categories=["other"],
            identifiers=[],
            incident_date=date(2026, 11, 20),
            part_of_day=None,
            expires_at=utcnow() + timedelta(days=1),
        ),
        crypto=crypto,
        needs_approval=False,
    )
    assert len(session.exec(select(Delivery)).all()) == len(before) + 3
    nested.rollback()
    assert session.exec(select(Delivery)).all() == before


def test_every_recipient_gets_the_alert_in_their_language(
    session: Session,
    crypto: Crypto,
    world: dict[str, Subscriber],
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
    mailbox: Any,
) -> None:
    settings = delivery_settings()
    alert = publish(session, crypto, [ASSEN], text="Pushed a worker against the wall.")
    run_worker(settings)

    view = alerts_service.view(session, alert=alert, cipher=crypto.cipher)
    [nl] = twilio.sent_to("+31611111111")
    [en] = twilio.sent_to("+31622222222")
    assert nl["body"] == render_sms(view, "nl", masking="partial"), (
        "exactly as the moderator saw it"
    )
    assert en["body"] == render_sms(view, "en", masking="partial")
    assert nl["body"].startswith("redflag GEVAAR") and en["body"].startswith("redflag DANGER")
    assert "+31 6 1234**78" in nl["body"] and "12345678" not in nl["body"]
    assert nl["from"] == "+3197010000001"
    assert nl["status_callback"] == "https://redflag.example.org/webhooks/twilio/status"
    assert twilio.sent_to("+31633333333") == [] and twilio.sent_to("+31644444444") == []

    [mail] = mailbox.to("lucia@example.org")
    assert mail["Subject"] == f"redflag PELIGRO: Assen ({alert.ref})"
    unsubscribe = mail["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://redflag.example.org/u/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert (
        "Pushed a worker against the wall." in text and "Pushed a worker against the wall." in html
    )
    assert "Dónde: Assen" in text and alert.ref in text
    assert unsubscribe.strip("<>") in text and unsubscribe.strip("<>") in html

    rows = deliveries(session, alert)
    assert {r.status for r in rows} == {"sent"}
    assert all(r.provider_id and r.attempts == 1 for r in rows)
    assert {r.provider_id[:2] for r in rows if r.channel == "sms"} == {"SM"}  # type: ignore[index]


@pytest.mark.parametrize(("status", "code"), [(500, None), (503, None), (429, 20429)])
def test_transient_failures_come_back_later(
    session: Session,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
    status: int,
    code: int | None,
) -> None:
    subscriber(session, crypto, "sms", "+31611111111", [ASSEN])
    alert = publish(session, crypto, [ASSEN])
    twilio.fail_next(1, status, code)
    started = utcnow()
    run_worker(delivery_settings())
    [row] = deliveries(session, alert)
    assert row.status == "pending" and row.attempts == 1
    assert row.error_code == str(code or 20000 + status)
    due = row.due_at if row.due_at.tzinfo else row.due_at.replace(tzinfo=started.tzinfo)  # type: ignore[union-attr]
    assert started + timedelta(seconds=4) < due < utcnow() + timedelta(seconds=6), (
        "backed off, not hot"
    )

    session.execute(update(Delivery).where(col(Delivery.id) == row.id).values(due_at=utcnow()))
    session.commit()
    run_worker(delivery_settings())
    [row] = deliveries(session, alert)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(twilio.sent_to("+31611111111")) == 1


@pytest.mark.parametrize(
    ("status", "body", "outcome", "code"),
    [
        # RFC 9457 problem details, as newer Twilio APIs answer: still a refused number
        (400, '{"type": "x", "title": "Invalid", "status": 400, "code": 21211}', "failed", "21211"),
        (502, "<html>Bad Gateway</html>", "pending", "502"),  # a proxy's page, not JSON
        (201, "{}", "pending", "answer"),  # taken, or not? No sid: sent again, not lost
        (201, "not json", "pending", "answer"),
    ],
)
def test_odd_answers_from_the_provider_are_classified(
    session: Session,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
    status: int,
    body: str,
    outcome: str,
    code: str,
) -> None:
    subscriber(session, crypto, "sms", "+31611111111", [ASSEN])
    alert = publish(session, crypto, [ASSEN])
    twilio.answer_next(status, body)
    run_worker(delivery_settings())
    [row] = deliveries(session, alert)
    assert (row.status, row.error_code, row.provider_id) == (outcome, code, None)


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    import random

    rng = random.Random(7)
    waits = [pacing.backoff(n, rng=rng).total_seconds() for n in range(1, 12)]
    assert all(5 <= w <= 900 for w in waits)
    ceilings = [min(900, 5 * 2 ** (n - 1)) for n in range(1, 12)]
    assert all(w <= c for w, c in zip(waits, ceilings, strict=True))
    assert len({round(w, 3) for w in waits}) == len(waits), "jittered"


def test_an_opted_out_number_is_removed(
    session: Session,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
) -> None:
    gone = subscriber(session, crypto, "sms", "+31611111111", [ASSEN]).id
    stays = subscriber(session, crypto, "sms", "+31622222222", [ASSEN]).id
    twilio.number_errors["+31611111111"] = 21610
    alert = publish(session, crypto, [ASSEN])
    run_worker(delivery_settings())
    session.expire_all()
    assert session.get(Subscriber, gone) is None
    assert session.get(Subscriber, stays) is not None
    statuses = {r.error_code or "": r.status for r in deliveries(session, alert)}
    assert statuses == {"21610": "failed", "": "sent"}


@pytest.mark.parametrize("code", [21211, 21614])
def test_an_unreachable_number_is_marked_and_skipped_next_time(
    session: Session,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
    code: int,
) -> None:
    landline = subscriber(session, crypto, "sms", "+31611111111", [ASSEN]).id
    twilio.number_errors["+31611111111"] = code
    first = publish(session, crypto, [ASSEN])
    run_worker(delivery_settings())
    [row] = deliveries(session, first)
    assert (row.status, row.error_code) == ("failed", str(code))
    session.expire_all()
    assert session.get(Subscriber, landline).unreachable_at is not None  # type: ignore[union-attr]
    second = publish(session, crypto, [ASSEN])
    assert deliveries(session, second) == []


def test_a_delivery_that_keeps_failing_gives_up_at_the_deadline(
    session: Session,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
) -> None:
    subscriber(session, crypto, "sms", "+31611111111", [ASSEN])
    alert = publish(session, crypto, [ASSEN])
    session.execute(update(Delivery).values(created_at=utcnow() - timedelta(hours=25)))
    session.commit()
    twilio.fail_next(1, 500)
    run_worker(delivery_settings(delivery_deadline_hours=24))
    [row] = deliveries(session, alert)
    assert (row.status, row.error_code) == ("failed", "deadline:20500")


@pytest.mark.parametrize(("rate", "largest"), [(0, 16), (1000, 4)])
def test_an_unpaced_worker_claims_more_while_its_senders_wait_for_the_database(
    session: Session,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
    monkeypatch: pytest.MonkeyPatch,
    rate: float,
    largest: int,
) -> None:
    """A claim costs round trips and commits whatever its size: when senders sit idle
    waiting for one, an unpaced worker claims twice as many next time, up to four times
    its batch. A paced one never does: its rate is the bound, and a batch must be sent
    well within its lease."""
    import time

    for n in range(40):
        subscriber(session, crypto, "sms", f"+3162345{n:04d}", [ASSEN])
    alert = publish(session, crypto, [ASSEN])
    sizes: list[int] = []
    claim = claims.claim_due

    def slow_claim(session: Session, *, batch: int, **kwargs: Any) -> list[claims.Job]:
        sizes.append(batch)
        time.sleep(0.2)  # a database far slower than sending four messages
        return claim(session, batch=batch, **kwargs)

    monkeypatch.setattr(claims, "claim_due", slow_claim)
    run_worker(delivery_settings(worker_rate=rate, worker_batch=4, worker_concurrency=4))
    assert {(r.status, r.attempts) for r in deliveries(session, alert)} == {("sent", 1)}
    assert len(twilio.messages) == 40
    assert sizes[0] == 4 and sizes == sorted(sizes) and max(sizes) == largest, sizes


def test_a_claim_reads_its_batch_off_the_index_of_claimable_rows(
    session: Session, crypto: Crypto
) -> None:
    """ix_delivery_due holds only pending and leased rows, by due time; the claim must be
    one the planner can answer from it (else every claim sorts every pending row: a
    fan-out to N costs N²). An index whose condition differs from the claim's is unusable."""
    from sqlalchemy import event

    subscriber(session, crypto, "sms", "+31611111111", [ASSEN])
    publish(session, crypto, [ASSEN])
    connection = session.connection()
    seen: list[tuple[str, Any]] = []

    def keep(*args: Any) -> None:
        statement, parameters = args[2], args[3]
        if statement.lstrip().startswith("UPDATE delivery"):
            seen.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", keep)
    try:
        assert len(claims.claim_due(session, batch=10, lease=timedelta(1), channels=["sms"]))
    finally:
        event.remove(connection, "before_cursor_execute", keep)
    [(statement, parameters)] = seen
    postgresql = connection.dialect.name == "postgresql"
    if postgresql:  # a table this small is read whole unless told otherwise
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    explain = "EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN "
    plan = " ".join(str(row) for row in connection.exec_driver_sql(explain + statement, parameters))
    session.rollback()
    assert "ix_delivery_due" in plan, plan


def test_a_crashed_workers_deliveries_are_taken_again_when_the_lease_runs_out(
    session: Session,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
) -> None:
    subscriber(session, crypto, "sms", "+31611111111", [ASSEN])
    alert = publish(session, crypto, [ASSEN])
    claimed = claims.claim_due(session, batch=10, lease=timedelta(minutes=2), channels=["sms"])
    session.commit()  # ... and then this worker dies
    assert len(claimed) == 1
    run_worker(delivery_settings())
    assert twilio.messages == [], "the lease still holds"
    session.execute(update(Delivery).values(due_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    run_worker(delivery_settings())
    [row] = deliveries(session, alert)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(twilio.messages) == 1


# (4, 4): by the fourth send the next batch has joined the queue and one more is claimed
@pytest.mark.parametrize(("batch", "sends"), [(12, 2), (4, 4)])
def test_a_stopping_worker_hands_back_what_it_has_not_sent(
    session: Session,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    connection: Connection,
    twilio: Any,
    batch: int,
    sends: int,
) -> None:
    """SIGTERM mid-batch: messages claimed but not yet sent are due again at once (not
    after the lease), the claim not counted; what was sent is recorded; nothing twice."""
    for n in range(12):
        subscriber(session, crypto, "sms", f"+3161234{n:04d}", [ASSEN])
    alert = publish(session, crypto, [ASSEN])
    twilio.delay = 0.2
    settings = delivery_settings(worker_concurrency=2, worker_batch=batch)

    async def stop_after_first_sends() -> None:
        providers = build(settings)
        factory = make_session_factory(connection, join_transaction_mode="create_savepoint")
        stop = asyncio.Event()
        task = asyncio.create_task(make_worker(settings, factory, providers).run(stop))
        while twilio.requests < sends:
            await asyncio.sleep(0.01)
        stop.set()
        await task
        await close_all(providers)

    asyncio.run(stop_after_first_sends())
    rows = deliveries(session, alert)
    sent = [r for r in rows if r.status == "sent"]
    waiting = [r for r in rows if r.status == "pending"]
    assert len(sent) == len(twilio.messages) >= sends
    assert len(sent) + len(waiting) == 12, "nothing left leased to a worker that has gone"
    now = utcnow().replace(tzinfo=None)  # SQLite hands back naive UTC
    assert {r.attempts for r in waiting} == {0}
    assert all(r.due_at and r.due_at.replace(tzinfo=None) <= now for r in waiting)

    twilio.delay = 0.0
    run_worker(settings)
    recipients = [m["to"] for m in twilio.messages]
    assert len(recipients) == 12 and len(set(recipients)) == 12, "each exactly once"


def test_outcomes_are_written_while_a_long_batch_is_still_going_out(
    database: Any, delivery_settings: Callable[..., Settings], twilio: Any
) -> None:
    """A provider's status report finds its message by the provider's id, so the id must
    be written soon after the send, not when the whole batch is done."""
    from app.db import make_engine

    url = database.fresh()
    settings = delivery_settings(database_url=url, worker_concurrency=1, worker_batch=10)
    crypto = Crypto.from_settings(settings)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        for n in range(10):
            subscriber(session, crypto, "sms", f"+3163456{n:04d}", [ASSEN])
        publish(session, crypto, [ASSEN])
    twilio.delay = 0.3
    written_mid_batch: list[int] = []

    async def watch() -> None:
        providers = build(settings)
        stop = asyncio.Event()
        worker = asyncio.create_task(make_worker(settings, factory, providers).run(stop))
        while twilio.requests < 10:
            with factory() as session:
                sent = session.exec(select(func.count()).where(Delivery.status == "sent")).one()
            if sent and twilio.requests < 10:
                written_mid_batch.append(sent)
            await asyncio.sleep(0.05)
        stop.set()
        await worker
        await close_all(providers)

    asyncio.run(watch())
    engine.dispose()
    assert written_mid_batch, "no outcome was written before the batch's last send"


def test_every_outcome_of_a_long_batch_is_recorded(
    session: Session,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
) -> None:
    """Sends finish while the next batch is being claimed: not one outcome may go missing."""
    for n in range(60):
        subscriber(session, crypto, "sms", f"+3162345{n:04d}", [ASSEN])
    alert = publish(session, crypto, [ASSEN])
    run_worker(delivery_settings(worker_concurrency=4, worker_batch=25))
    assert len(twilio.messages) == 60
    assert {(r.status, r.attempts) for r in deliveries(session, alert)} == {("sent", 1)}
    assert all(r.provider_id and r.provider_id.startswith("SM") for r in deliveries(session, alert))


def test_a_retraction_reaches_everyone_who_got_the_alert(
    session: Session,
    crypto: Crypto,
    world: dict[str, Subscriber],
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
    mailbox: Any,
) -> None:
    alert = publish(session, crypto, [ASSEN])
    run_worker(delivery_settings())
    alerts_service.retract(session, alert=alert, reason="wrong person", cipher=crypto.cipher)
    session.commit()
    subscriber(session, crypto, "sms", "+31666666666", [ASSEN])
    run_worker(delivery_settings())

    [_, retraction] = twilio.sent_to("+31611111111")
    assert (
        retraction["body"]
        == f"redflag: waarschuwing {alert.ref} (20-11, Assen) is ingetrokken. Negeer haar."
    )
    assert twilio.sent_to("+31666666666") == [], "only the original recipients"
    [_, retracted] = mailbox.to("lucia@example.org")
    assert retracted["Subject"] == f"redflag: aviso {alert.ref} retirado"
    kinds = [(r.kind, r.status) for r in deliveries(session, alert)]
    assert kinds.count(("retraction", "sent")) == 3


def test_an_update_follows_the_alert_to_its_recipients_only(
    session: Session,
    crypto: Crypto,
    world: dict[str, Subscriber],
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
    mailbox: Any,
) -> None:
    alert = publish(session, crypto, [ASSEN])
    run_worker(delivery_settings())
    subscriber(session, crypto, "sms", "+31666666666", [ASSEN])  # joined after the alert
    number, queued = alerts_service.add_update(
        session, alert=alert, text="Seen again on Friday, grey van.", cipher=crypto.cipher
    )
    session.commit()
    assert (number, queued) == (1, 3)
    run_worker(delivery_settings())

    [_, nl] = twilio.sent_to("+31611111111")
    assert nl["body"] == (
        f"redflag: nieuws over waarschuwing {alert.ref} (20-11, Assen):"
        " Seen again on Friday, grey van. Afmelden: STOP"
    )
    [_, en] = twilio.sent_to("+31622222222")
    assert en["body"].startswith(f"redflag: news on alert {alert.ref} (20/11, Assen):")
    [_, email] = mailbox.to("lucia@example.org")
    assert email["Subject"] == f"redflag: novedad sobre el aviso {alert.ref}"
    assert "Seen again on Friday, grey van." in email.get_body(("plain",)).get_content()
    assert email["List-Unsubscribe"]
    assert twilio.sent_to("+31666666666") == [], "only those the alert went to"
    rows = [(r.kind, r.update_no, r.status) for r in deliveries(session, alert)]
    assert rows.count(("update", 1, "sent")) == 3


def test_an_update_waits_for_an_alert_that_waits_for_a_retry(
    session: Session, crypto: Crypto, world: dict[str, Subscriber], twilio: Any
) -> None:
    alert = publish(session, crypto, [ASSEN])
    later = utcnow() + timedelta(minutes=5)
    session.execute(update(Delivery).values(due_at=later))  # the alert: backing off
    alerts_service.add_update(session, alert=alert, text="More news.", cipher=crypto.cipher)
    session.commit()
    updates = [r for r in deliveries(session, alert) if r.kind == "update"]
    assert len(updates) == 3
    assert all(
        r.due_at and r.due_at.replace(tzinfo=None) >= later.replace(tzinfo=None) for r in updates
    )


def test_a_retraction_cancels_updates_not_yet_sent(
    session: Session, crypto: Crypto, world: dict[str, Subscriber]
) -> None:
    alert = publish(session, crypto, [ASSEN])
    alerts_service.add_update(session, alert=alert, text="More news.", cipher=crypto.cipher)
    alerts_service.retract(session, alert=alert, reason="wrong person", cipher=crypto.cipher)
    session.commit()
    assert {(r.kind, r.status) for r in deliveries(session, alert)} == {
        ("alert", "cancelled"),
        ("update", "cancelled"),
    }
    with pytest.raises(Conflict):
        alerts_service.add_update(session, alert=alert, text="Too late.", cipher=crypto.cipher)


def test_retracting_before_sending_cancels_instead(
    session: Session,
    crypto: Crypto,
    world: dict[str, Subscriber],
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
) -> None:
    alert = publish(session, crypto, [ASSEN])
    alerts_service.retract(session, alert=alert, reason="too soon", cipher=crypto.cipher)
    session.commit()
    run_worker(delivery_settings())
    assert twilio.messages == []
    assert {(r.kind, r.status) for r in deliveries(session, alert)} == {("alert", "cancelled")}


def test_leaving_cancels_whatever_is_still_waiting(
    session: Session, crypto: Crypto, world: dict[str, Subscriber]
) -> None:
    alert = publish(session, crypto, [ASSEN])
    subscriptions.remove(session, subscriber=world["assen_nl"])
    session.commit()
    rows = [r for r in deliveries(session, alert) if r.subscriber_id is None]
    assert [(r.status) for r in rows] == [DeliveryStatus.cancelled.value]


def test_email_goes_out_over_starttls_only(
    mailbox: Any, delivery_settings: Callable[..., Settings]
) -> None:
    from alerts.delivery.providers import Message, SmtpEmail, TransientSendError

    async def send(settings: Settings) -> str:
        return await SmtpEmail(settings).send(Message("email", "a@example.org", "hello", "subject"))

    assert asyncio.run(send(delivery_settings()))
    assert len(mailbox.to("a@example.org")) == 1
    with pytest.raises(TransientSendError):  # the server refuses mail without STARTTLS
        asyncio.run(send(delivery_settings(smtp_starttls=False)))


def test_email_is_sent_under_the_deployments_name(
    mailbox: Any, delivery_settings: Callable[..., Settings]
) -> None:
    from alerts.delivery.providers import Message, SmtpEmail

    async def send(settings: Settings, to: str) -> str:
        return await SmtpEmail(settings).send(Message("email", to, "hello", None))

    named = delivery_settings(site_name="Ugly Mugs Noord", smtp_from="alerts@example.org")
    asyncio.run(send(named, "a@example.org"))
    [mail] = mailbox.to("a@example.org")
    assert (mail["From"], mail["Subject"]) == (
        "Ugly Mugs Noord <alerts@example.org>",
        "Ugly Mugs Noord",
    )
    own = delivery_settings(site_name="Ugly Mugs Noord", smtp_from="Waarschuwing <w@example.org>")
    asyncio.run(send(own, "b@example.org"))
    assert mailbox.to("b@example.org")[0]["From"] == "Waarschuwing <w@example.org>"


def test_channel_of_each_subscriber_is_kept(session: Session, crypto: Crypto) -> None:
    created = subscriber(session, crypto, Channel.email, "x@example.org", [ASSEN])
    assert created.channel == "email"


def test_several_workers_never_send_the_same_message(
    database: Any, delivery_settings: Callable[..., Settings], twilio: Any
) -> None:
    """Three workers drain 300 deliveries at once from one real database."""
    from app.db import make_engine

    url = database.fresh()
    settings = delivery_settings(database_url=url, worker_batch=25)
    crypto = Crypto.from_settings(settings)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        for n in range(300):
            subscriber(session, crypto, "sms", f"+316{10000000 + n}", [ASSEN])
        alert = publish(session, crypto, [ASSEN])
        alert_id = alert.id

    async def workers() -> None:
        providers = [build(settings) for _ in range(3)]
        try:
            await asyncio.gather(
                *(make_worker(settings, make_session_factory(engine), p).drain() for p in providers)
            )
        finally:
            for p in providers:
                await close_all(p)

    asyncio.run(workers())
    recipients = [m["to"] for m in twilio.messages]
    assert len(recipients) == 300 and len(set(recipients)) == 300, "each exactly once"
    with make_session_factory(engine)() as session:
        rows = session.exec(select(Delivery).where(Delivery.alert_id == alert_id)).all()
        assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
    engine.dispose()


def test_sending_is_paced_to_the_configured_rate(
    session: Session,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
) -> None:
    for n in range(11):
        subscriber(session, crypto, "sms", f"+3161111{n:04d}", [ASSEN])
    publish(session, crypto, [ASSEN])
    run_worker(delivery_settings(worker_rate=20, worker_concurrency=11))
    times = sorted(twilio.request_times)
    assert len(times) == 11
    # Starts at 20 per second are at least 50 ms apart, however fast the machine. Counted
    # from the second arrival: the first one also carries the client's own set-up (its
    # connection), which makes it arrive late and the span look shorter than it was.
    assert times[-1] - times[1] >= 9 / 20 * 0.95


def test_a_stalled_event_loop_does_not_make_paced_senders_burst() -> None:
    """After the event loop stalls (a long garbage collection, a slow machine), senders
    that were waiting their turn start one by one again, never all at once."""
    import time

    async def send_six() -> list[float]:
        pacer = Pacer(20)
        starts: list[float] = []

        async def sender() -> None:
            await pacer.wait()
            starts.append(time.monotonic())

        senders = [asyncio.ensure_future(sender()) for _ in range(6)]
        await asyncio.sleep(0)  # the first has started, the others wait their turn
        time.sleep(0.4)  # the stall: all their turns would have come by now
        await asyncio.gather(*senders)
        return starts

    starts = asyncio.run(send_six())
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(starts) == 6 and min(gaps) >= 0.9 / 20, gaps


def test_a_messaging_service_can_send_instead_of_a_number(
    session: Session,
    crypto: Crypto,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
) -> None:
    subscriber(session, crypto, "sms", "+31611111111", [ASSEN])
    publish(session, crypto, [ASSEN])
    run_worker(delivery_settings(twilio_from=None, twilio_messaging_service_sid="MG" + "1" * 32))
    [message] = twilio.messages
    assert (message["messaging_service_sid"], message["from"]) == ("MG" + "1" * 32, "")


# ---- one-off messages: codes and links ---------------------------------------------------------


def test_a_code_waits_encrypted_in_the_outbox_and_goes_once_sent(
    session: Session,
    crypto: Crypto,
    settings: Settings,
    delivery_settings: Callable[..., Settings],
    run_worker: Callable[[Settings], None],
    twilio: Any,
) -> None:
    """A code is never sent inside the request that asks for it (issue 12): it is an
    outbox row of its own, its text encrypted, sent by the worker like any message, and
    gone at the next retention run once settled (uncounted: it belongs to no alert)."""
    from alerts.delivery import outbox
    from app.retention import Policy

    member = subscriber(session, crypto, "sms", "+31611111111", [ASSEN])
    outbox.send_once(
        session, subscriber=member, text="Your code: 493817.", subject=None, cipher=crypto.cipher
    )
    session.commit()
    [row] = session.exec(select(Delivery).where(Delivery.kind == "code")).all()
    assert row.alert_id is None and row.text_enc is not None
    assert b"493817" not in row.text_enc

    run_worker(delivery_settings())
    assert [m["body"] for m in twilio.sent_to("+31611111111")] == ["Your code: 493817."]
    session.expire_all()
    assert session.get(Delivery, row.id).status == "sent"  # type: ignore[union-attr]

    assert outbox.prune(session, Policy.from_settings(settings)) == 1
    assert session.exec(select(Delivery)).all() == []
    assert session.exec(select(func.count()).select_from(DeliveryTally)).one() == 0
