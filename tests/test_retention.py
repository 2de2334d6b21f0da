"""Retention with a fake clock: what goes when, what stays, and that it is safe to repeat."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlmodel import Session, func, select

from alerts import service as alerts_service
from alerts.delivery import outbox as delivery
from alerts.delivery.providers import build, close_all
from alerts.delivery.worker import make_worker
from alerts.models import (
    Alert,
    Delivery,
    DeliveryTally,
    OneTimeCode,
    ProcessedWebhook,
    Subscriber,
)
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import make_session_factory, utcnow
from app.reports import service as reports_service
from app.reports.models import Report, ReportCreate, ReportIdentifier, ReportMessage
from app.settings import Settings
from moderation import retention
from moderation import service as moderation_service
from moderation.models import ModerationNote
from tests.conftest import Team
from tests.helpers import publish_alert, report_body

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=utcnow().tzinfo)


def decided_report(session: Session, crypto: Crypto, status: str, days_ago: int | None) -> Report:
    report_id, _ = reports_service.submit(
        session, data=ReportCreate(**report_body()), crypto=crypto, default_region="NL"
    )
    report = session.get(Report, report_id)
    assert report is not None
    report.status = "in_review"
    reports_service.ask_reporter(
        session, report=report, question="Which street?", cipher=crypto.cipher
    )
    report.status = status
    report.decided_at = None if days_ago is None else NOW - timedelta(days=days_ago)
    session.add(report)
    session.flush()
    return report


def remaining_text(session: Session, report: Report) -> tuple[bool, int, int]:
    session.refresh(report)
    identifiers = session.exec(
        select(func.count()).where(ReportIdentifier.report_id == report.id)
    ).one()
    messages = session.exec(select(func.count()).where(ReportMessage.report_id == report.id)).one()
    return report.what_happened_enc is not None, identifiers, messages


def test_report_texts_go_after_the_retention_period(
    session: Session, crypto: Crypto, settings: Settings, team: Team
) -> None:
    cases = {
        "published, 181 days": ("published", 181, False),
        "published, 179 days": ("published", 179, True),
        "duplicate, 181 days": ("duplicate", 181, False),
        "rejected, 31 days": ("rejected", 31, False),
        "rejected, 29 days": ("rejected", 29, True),
        "still waiting, never decided": ("submitted", None, True),
    }
    reports = {
        name: decided_report(session, crypto, status, days)
        for name, (status, days, _) in cases.items()
    }
    for report in reports.values():
        moderation_service.add_note(
            session, crypto, team.alice, "reject", "quotes the story", report_id=report.id
        )
    session.commit()

    done = retention.run(session, settings, now=NOW)
    session.commit()

    assert done["report texts purged"] == 3
    assert done["moderation notes purged"] == 3
    for name, (_, _, kept) in cases.items():
        expected = (True, 1, 1) if kept else (False, 0, 0)
        assert remaining_text(session, reports[name]) == expected, name
        notes = session.exec(
            select(func.count()).where(ModerationNote.report_id == reports[name].id)
        ).one()
        assert notes == (1 if kept else 0), name
    purged = reports["published, 181 days"]
    assert (purged.status, purged.region_code) == ("published", "GM0106"), "the bare facts stay"

    again = retention.run(session, settings, now=NOW)
    assert again["report texts purged"] == again["moderation notes purged"] == 0


def an_alert(session: Session, crypto: Crypto, *, expires_at: datetime) -> Alert:
    alert: Alert = publish_alert(session, crypto, expires_at=expires_at)
    return alert


def outbox_row(session: Session, alert: Alert, status: str, days_ago: int, channel: str) -> None:
    when = NOW - timedelta(days=days_ago)
    session.add(
        Delivery(
            alert_id=alert.id,  # type: ignore[arg-type]
            subscriber_id=None,
            channel=channel,
            kind="alert",
            status=status,
            created_at=when,
            updated_at=when,
            due_at=when if status == "pending" else None,
        )
    )


def test_delivery_rows_are_pruned_and_their_counts_kept(
    session: Session, crypto: Crypto, settings: Settings
) -> None:
    alert = an_alert(session, crypto, expires_at=NOW + timedelta(days=30))
    for status, days_ago, channel in [
        ("sent", 40, "sms"),
        ("delivered", 40, "sms"),
        ("delivered", 31, "sms"),
        ("failed", 35, "email"),
        ("delivered", 10, "sms"),  # too recent
        ("pending", 40, "sms"),  # still to be sent: never pruned
    ]:
        outbox_row(session, alert, status, days_ago, channel)
    session.commit()
    assert alert.id is not None
    before = delivery.counts(session, alert_id=alert.id)

    assert retention.run(session, settings, now=NOW)["delivery rows pruned"] == 4
    session.commit()
    left = session.exec(select(Delivery.status).where(Delivery.alert_id == alert.id)).all()
    assert sorted(left) == ["delivered", "pending"]
    assert (
        delivery.counts(session, alert_id=alert.id)
        == before
        == {
            "sent": 1,
            "delivered": 3,
            "failed": 1,
            "pending": 1,
        }
    )

    outbox_row(session, alert, "delivered", 45, "sms")  # a later run adds to the tallies
    session.commit()
    assert retention.run(session, settings, now=NOW)["delivery rows pruned"] == 1
    session.commit()
    tallies = {
        (t.channel, t.status): t.count
        for t in session.exec(select(DeliveryTally).where(DeliveryTally.alert_id == alert.id))
    }
    assert tallies == {("sms", "sent"): 1, ("sms", "delivered"): 3, ("email", "failed"): 1}
    assert retention.run(session, settings, now=NOW)["delivery rows pruned"] == 0


def test_ended_alerts_are_marked_expired_and_no_longer_match(
    session: Session, crypto: Crypto, settings: Settings
) -> None:
    ended = an_alert(session, crypto, expires_at=utcnow() - timedelta(minutes=1))
    live = an_alert(session, crypto, expires_at=utcnow() + timedelta(days=1))
    session.commit()
    assert retention.run(session, settings)["alerts expired"] == 1
    session.commit()
    session.refresh(ended)
    session.refresh(live)
    assert (ended.status, live.status) == ("expired", "published")
    digest = crypto.index.digest("phone", "+31612345678")
    found = alerts_service.live_alerts_matching(session, blind_indexes=[digest])
    assert [a.ref for a in found[digest]] == [live.ref]


def test_each_worker_runs_the_retention_on_its_schedule(
    connection: Connection, delivery_settings: Callable[..., Settings], session: Session
) -> None:
    runs: list[bool] = []

    def housekeeping(worker_session: Session) -> None:
        runs.append(isinstance(worker_session, Session))

    async def one_round() -> None:
        settings = delivery_settings(sms_provider="none", email_provider="none")
        providers = build(settings)
        factory = make_session_factory(connection, join_transaction_mode="create_savepoint")
        stop = asyncio.Event()
        worker = make_worker(settings, factory, providers, housekeeping=housekeeping)
        task = asyncio.create_task(worker.run(stop))
        while not runs:
            await asyncio.sleep(0.01)
        stop.set()
        await task
        await close_all(providers)

    asyncio.run(one_round())
    assert runs == [True], "at start, then once an hour"


def test_unconfirmed_sign_ups_and_spent_codes_do_not_stay(
    session: Session, crypto: Crypto, settings: Settings
) -> None:
    def someone(number: str, *, confirmed: bool, days_ago: int) -> Subscriber:
        made = subscriptions._new_subscriber(
            session, channel="sms", contact=number, language="nl", crypto=crypto
        )
        made.created_at = NOW - timedelta(days=days_ago)
        made.confirmed_at = made.created_at if confirmed else None
        subscriptions.set_regions(session, subscriber=made, codes=["GM0106"], replace=True)
        session.add(
            OneTimeCode(
                subscriber_id=made.id,  # type: ignore[arg-type]
                purpose="confirm",
                code_hash=number.encode(),
                expires_at=made.created_at + timedelta(minutes=15),
            )
        )
        return made

    stale = someone("+31611111111", confirmed=False, days_ago=8).id
    fresh = someone("+31622222222", confirmed=False, days_ago=1).id
    member = someone("+31633333333", confirmed=True, days_ago=300).id
    session.add(ProcessedWebhook(key_hash=b"old", received_at=NOW - timedelta(days=31)))
    session.add(ProcessedWebhook(key_hash=b"new", received_at=NOW - timedelta(days=1)))
    session.commit()

    done = retention.run(session, settings, now=NOW)
    session.commit()
    assert done["unconfirmed sign-ups deleted"] == 1
    assert done["expired codes deleted"] == 2, "the stale one went with its sign-up"
    assert done["handled inbound messages forgotten"] == 1
    left = set(session.exec(select(Subscriber.id)).all())
    assert left == {fresh, member} and stale not in left
    assert session.exec(select(func.count()).select_from(OneTimeCode)).one() == 0
    assert session.exec(select(ProcessedWebhook.key_hash)).all() == [b"new"]
