"""Two moderators at the same moment, with real transactions on SQLite and PostgreSQL.

Each attempt runs in its own thread with its own session and commits for real; a
barrier releases them together. Exactly one may win; the other gets a clear refusal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from alerts.models import Alert
from app.crypto import Crypto
from app.db import make_engine
from app.errors import RedflagError
from app.reports import service as reports_service
from app.reports.models import Report, ReportCreate
from app.settings import Settings
from moderation import accounts, alert_review, claims, decisions
from moderation.models import Moderator, Role
from moderation.schemas import PublishIn, RejectIn
from tests.conftest import PASSWORD, TestDatabase

ROUNDS = 5


@dataclass
class World:
    engine: Engine
    settings: Settings
    crypto: Crypto
    ids: dict[str, int]


@pytest.fixture
def world(database: TestDatabase, make_settings: Callable[..., Settings]) -> Iterator[World]:
    url = database.fresh()
    settings = make_settings(database_url=url)
    engine = make_engine(url)
    ids = {}
    with Session(engine) as session:
        for name, role in [
            ("alice", Role.moderator),
            ("carol", Role.moderator),
            ("bob", Role.admin),
        ]:
            ids[name] = accounts.create(session, username=name, password=PASSWORD, role=role).id
        session.commit()
    yield World(engine, settings, Crypto.from_settings(settings), ids)  # type: ignore[arg-type]
    engine.dispose()


def new_report(world: World) -> int:
    data = ReportCreate.model_validate(
        {
            "region": "GM0106",
            "incident_date": date.today(),
            "part_of_day": "night",
            "categories": ["robbery"],
        }
    )
    with Session(world.engine) as session:
        report_id, _ = reports_service.submit(
            session, data=data, crypto=world.crypto, default_region="NL"
        )
        session.commit()
        return report_id


def at_once(world: World, *attempts: Callable[[Session], Any]) -> list[str]:
    """Run each attempt in its own thread and transaction, all released together."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = [""] * len(attempts)

    def run(i: int, attempt: Callable[[Session], Any]) -> None:
        with Session(world.engine) as session:
            barrier.wait()
            try:
                attempt(session)
                session.commit()
                outcomes[i] = "ok"
            except RedflagError as exc:
                session.rollback()
                outcomes[i] = type(exc).__name__

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def as_(session: Session, world: World, name: str) -> Moderator:
    moderator = session.get(Moderator, world.ids[name])
    assert moderator is not None
    return moderator


def claim_as(world: World, name: str, rid: int) -> Callable[[Session], Any]:
    def attempt(session: Session) -> Any:
        moderator = as_(session, world, name)
        return claims.claim(session, report_id=rid, moderator=moderator, settings=world.settings)

    return attempt


def publish_as_alice(world: World, rid: int, data: PublishIn) -> Callable[[Session], Any]:
    def attempt(session: Session) -> Any:
        moderator = as_(session, world, "alice")
        return decisions.publish(
            session,
            report_id=rid,
            moderator=moderator,
            data=data,
            crypto=world.crypto,
            settings=world.settings,
        )

    return attempt


def reject_as_alice(world: World, rid: int, data: RejectIn) -> Callable[[Session], Any]:
    def attempt(session: Session) -> Any:
        moderator = as_(session, world, "alice")
        return decisions.reject(
            session, report_id=rid, moderator=moderator, data=data, crypto=world.crypto
        )

    return attempt


def approve_as(world: World, name: str, ref: str) -> Callable[[Session], Any]:
    def attempt(session: Session) -> Any:
        return alert_review.approve(session, ref=ref, moderator=as_(session, world, name))

    return attempt


def alert_content(version: int, severity: str) -> PublishIn:
    return PublishIn.model_validate(
        {
            "version": version,
            "text": "x",
            "severity": severity,
            "regions": ["GM0106"],
            "categories": ["robbery"],
        }
    )


def test_two_moderators_claiming_the_same_report(world: World) -> None:
    for _ in range(ROUNDS):
        rid = new_report(world)
        outcomes = at_once(world, claim_as(world, "alice", rid), claim_as(world, "carol", rid))
        assert sorted(outcomes) == ["HeldByOther", "ok"]
        with Session(world.engine) as session:
            report = session.get(Report, rid)
            winner = "alice" if outcomes[0] == "ok" else "carol"
            assert report is not None and report.claimed_by_id == world.ids[winner]


def _claimed(world: World) -> tuple[int, int]:
    rid = new_report(world)
    with Session(world.engine) as session:
        report = claim_as(world, "alice", rid)(session)
        version = report.version
        session.commit()
    return rid, version


def test_two_decisions_on_the_same_report(world: World) -> None:
    """A double click, or two tabs: publish and reject sent together on the same version."""
    for _ in range(ROUNDS):
        rid, version = _claimed(world)
        outcomes = at_once(
            world,
            publish_as_alice(world, rid, alert_content(version, "high")),
            reject_as_alice(world, rid, RejectIn(version=version, reason="no")),
        )
        assert sorted(outcomes) == ["Conflict", "ok"]
        with Session(world.engine) as session:
            report = session.get(Report, rid)
            assert report is not None
            assert report.status == ("published" if outcomes[0] == "ok" else "rejected")


def test_two_moderators_approving_the_same_alert(world: World) -> None:
    for _ in range(ROUNDS):
        rid, version = _claimed(world)
        with Session(world.engine) as session:
            decision = publish_as_alice(world, rid, alert_content(version, "critical"))(session)
            session.commit()
        ref = decision.alert_ref
        outcomes = at_once(world, approve_as(world, "carol", ref), approve_as(world, "bob", ref))
        assert sorted(outcomes) == ["Conflict", "ok"]
    with Session(world.engine) as session:
        published = select(func.count()).select_from(Alert).where(Alert.status == "published")
        assert session.exec(published).one() == ROUNDS
