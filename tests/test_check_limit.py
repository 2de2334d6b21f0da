"""The client check's daily limit on different numbers per member, and the moderators'
watch list of members who went over it (alerts/check/watch.py)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from alerts import membership
from alerts.check import members
from alerts.check.models import CheckWatch
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import utcnow
from app.settings import Settings, new_key
from moderation import retention
from moderation.models import AuditEntry
from tests.conftest import Team
from tests.test_moderation_pages import log_in
from tests.test_sms_commands import sms

MEMBER = "+31687650000"
MOST = 3
# Four different numbers, each written two ways: the member writes them as they like.
NUMBERS = ["+31612340001", "+31612340002", "+31612340003", "+31612340004", "+31612340005"]
OTHER_SPELLING = {"+31612340001": "06-1234 0001", "+31612340004": "06 12340004"}
REFUSED = (
    "You have checked 3 different numbers today, the most one member can. "
    "You can check those again; new numbers tomorrow."
)


class Tomorrow(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.now(tz) + timedelta(days=1)


def member(session: Session, crypto: Crypto, number: str = MEMBER) -> int:
    subscriber = subscriptions._new_subscriber(
        session, channel="sms", contact=number, language="en", crypto=crypto
    )
    subscriber.confirmed_at = utcnow()
    session.flush()
    assert subscriber.id is not None
    membership.verify(session, member_id=subscriber.id, by="moderator:1")  # only members check
    session.commit()
    return subscriber.id


@pytest.fixture
def limited(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(database_url="sqlite://", check_daily_numbers=MOST)


@pytest.fixture
def client(make_client: Callable[..., TestClient], limited: Settings) -> Iterator[TestClient]:
    with make_client(limited) as c:
        yield c


def api_check(client: TestClient, token: str, number: str) -> Any:
    return client.post(
        "/api/v1/check", json={"number": number}, headers={"Authorization": f"Bearer {token}"}
    )


def watch_rows(session: Session) -> list[tuple[int, date, int]]:
    session.expire_all()
    rows = session.exec(select(CheckWatch)).all()
    return [(r.subscriber_id, r.day, r.numbers) for r in rows]


def test_the_api_refuses_new_numbers_over_the_limit_and_answers_old_ones(
    client: TestClient,
    limited: Settings,
    session: Session,
    crypto: Crypto,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    member_id = member(session, crypto)
    token, _ = members.issue(member_id, limited)
    assert [api_check(client, token, n).status_code for n in NUMBERS[:MOST]] == [200] * MOST
    assert watch_rows(session) == [], "under the limit nobody is listed"

    refused = api_check(client, token, NUMBERS[3])
    assert refused.status_code == 429
    assert refused.json() == {
        "detail": "You have checked 3 different numbers today, the most a member can. Numbers "
        "you checked today can still be checked again; new numbers from tomorrow (UTC)."
    }
    tomorrow = datetime.combine(
        datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), UTC
    )
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= (tomorrow - datetime.now(UTC)).total_seconds() + 1, "until midnight UTC"
    assert "0004" not in refused.text

    again = api_check(client, token, OTHER_SPELLING[NUMBERS[0]])
    assert again.status_code == 200, "a number checked today still answers, however written"
    assert again.json()["number"] == NUMBERS[0]
    assert api_check(client, token, OTHER_SPELLING[NUMBERS[3]]).status_code == 429
    assert api_check(client, token, NUMBERS[4]).status_code == 429
    today = datetime.now(UTC).date()
    assert watch_rows(session) == [(member_id, today, MOST + 2)], "five different numbers asked"

    import app.ratelimit

    monkeypatch.setattr(app.ratelimit, "datetime", Tomorrow)
    assert api_check(client, token, NUMBERS[3]).status_code == 200, "a new day, a new share"


def test_the_limit_is_per_member(
    client: TestClient, limited: Settings, session: Session, crypto: Crypto
) -> None:
    greedy, _ = members.issue(member(session, crypto), limited)
    other, _ = members.issue(member(session, crypto, "+31687650001"), limited)
    for number in NUMBERS[:MOST]:
        api_check(client, greedy, number)
    assert api_check(client, greedy, NUMBERS[3]).status_code == 429
    assert [api_check(client, other, n).status_code for n in NUMBERS[1:4]] == [200] * MOST


def test_open_checks_without_a_member_have_no_daily_share_of_numbers(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url="sqlite://", check_daily_numbers=1, check_access="open")
    with make_client(settings) as client:
        statuses = [client.post("/api/v1/check", json={"number": n}).status_code for n in NUMBERS]
    assert statuses == [200] * len(NUMBERS)


def page_check(client: TestClient, token: str, number: str) -> Any:
    return client.post("/en/check", data={"token": token, "number": number})


def test_the_page_refuses_new_numbers_and_keeps_the_member_signed_in(
    client: TestClient,
    limited: Settings,
    session: Session,
    crypto: Crypto,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token, _ = members.issue(member(session, crypto), limited)
    assert [page_check(client, token, n).status_code for n in NUMBERS[:MOST]] == [200] * MOST

    refused = page_check(client, token, "06 1234 0004")
    assert refused.status_code == 429
    assert REFUSED in refused.text
    assert 'id="check-result"' not in refused.text, "no answer about the new number"
    assert f'name="token" value="{token}"' in refused.text, "still signed in"
    assert [n for _, _, n in watch_rows(session)] == [MOST + 1], "listed for moderators"

    again = page_check(client, token, "0612340002")
    assert again.status_code == 200
    assert "No reports about +31 6 1234**02." in again.text

    import app.ratelimit

    monkeypatch.setattr(app.ratelimit, "datetime", Tomorrow)
    assert page_check(client, token, "06 1234 0004").status_code == 200


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("nl", "Je hebt vandaag 3 verschillende nummers gecheckt. Meer kan niet op één dag."),
        ("es", "Hoy ya consultaste 3 números distintos, el máximo por persona."),
    ],
)
def test_the_page_says_so_in_the_members_language(
    client: TestClient,
    limited: Settings,
    session: Session,
    crypto: Crypto,
    lang: str,
    text: str,
) -> None:
    token, _ = members.issue(member(session, crypto), limited)
    for number in NUMBERS[:MOST]:
        client.post(f"/{lang}/check", data={"token": token, "number": number})
    refused = client.post(f"/{lang}/check", data={"token": token, "number": NUMBERS[3]})
    assert refused.status_code == 429
    assert text in refused.text


def test_sms_checks_refuse_new_numbers_and_answer_old_ones(
    make_client: Callable[..., TestClient],
    delivery_settings: Callable[..., Settings],
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = delivery_settings(check_daily_numbers=MOST)
    with make_client(settings) as client:
        sms(client, settings, "JOIN ASSEN")
        answers = [sms(client, settings, f"CHECK {n}") for n in NUMBERS[:MOST]]
        assert all(a.startswith("redflag: no reports about") for a in answers)
        assert sms(client, settings, "CHECK 0612340004") == (
            "redflag: you checked 3 different numbers today, the most allowed. "
            "You can check those again; new numbers tomorrow."
        )
        assert sms(client, settings, "CHECK 06 1234 0001") == (
            "redflag: no reports about +31 6 1234**01. That is no guarantee: trust your instincts."
        )
        assert sms(client, settings, "CONTROLEER 0612340005") == (
            "redflag: je checkte vandaag 3 verschillende nummers, meer kan niet. "
            "Die kun je opnieuw checken, nieuwe nummers morgen weer."
        )
        assert [numbers for _, _, numbers in watch_rows(session)] == [MOST + 2]

        import app.ratelimit

        monkeypatch.setattr(app.ratelimit, "datetime", Tomorrow)
        assert sms(client, settings, "CHECK 0612340004").startswith("redflag: no reports about")


def go_over(client: TestClient, token: str) -> None:
    for number in NUMBERS:
        api_check(client, token, number)


def test_moderators_see_who_went_over_and_nothing_about_the_numbers(
    client: TestClient,
    make_client: Callable[..., TestClient],
    limited: Settings,
    session: Session,
    crypto: Crypto,
    team: Team,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    member_id = member(session, crypto)
    go_over(client, members.issue(member_id, limited)[0])
    quiet_id = member(session, crypto, "+31687650001")
    api_check(client, members.issue(quiet_id, limited)[0], NUMBERS[0])
    today = datetime.now(UTC).date()

    assert client.get("/api/v1/moderation/check-watch").status_code == 401
    listed = client.get("/api/v1/moderation/check-watch", headers=auth(team.alice))
    assert listed.status_code == 200
    assert listed.json() == [{"member_id": member_id, "day": today.isoformat(), "numbers": 5}]

    with make_client(limited, follow_redirects=False) as browser:
        log_in(browser, "carol")
        page = browser.get("/mod/check-watch")
    assert page.status_code == 200
    row = re.search(r'<table id="check-watch">.*</table>', page.text, re.S)
    assert row is not None
    cells = re.findall(r"<td>([^<]*)</td>", row.group(0))
    assert cells == [f"member {member_id}", today.isoformat(), "5"]
    assert f"member {quiet_id}" not in page.text, "a member under the limit is not listed"
    for text in (listed.text, page.text):
        for number in [*NUMBERS, MEMBER, "1234**0", "12340001"]:
            assert number not in text

    session.expire_all()
    looks = session.exec(select(AuditEntry).where(AuditEntry.action == "check_watch.view")).all()
    assert [(e.moderator_id, e.target_type, e.target_id) for e in looks] == [
        (team.alice.id, "check_watch", "list"),
        (team.carol.id, "check_watch", "list"),
    ]


def test_the_list_is_kept_for_the_retention_period(
    session: Session, crypto: Crypto, make_settings: Callable[..., Settings]
) -> None:
    member_id = member(session, crypto)
    today = datetime.now(UTC).date()
    for days_ago in (0, 89, 91):
        session.add(CheckWatch(subscriber_id=member_id, day=today - timedelta(days_ago), numbers=9))
    session.commit()
    done = retention.run(session, make_settings(check_watch_days=90))
    assert done["check watch entries deleted"] == 1
    assert sorted(d for _, d, _ in watch_rows(session)) == [
        today - timedelta(89),
        today,
    ]


def test_a_member_who_leaves_leaves_the_list(
    client: TestClient, limited: Settings, session: Session, crypto: Crypto
) -> None:
    member_id = member(session, crypto)
    go_over(client, members.issue(member_id, limited)[0])
    assert len(watch_rows(session)) == 1
    subscriber = subscriptions.find(session, index=crypto.index, channel="sms", contact=MEMBER)
    assert subscriber is not None
    subscriptions.remove(session, subscriber=subscriber)
    session.commit()
    assert watch_rows(session) == []


def test_processes_share_the_count_through_redis(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
    session: Session,
    crypto: Crypto,
    request: pytest.FixtureRequest,
) -> None:
    """Two app processes (replicas, or the web and the SMS webhook) behind one Redis: the
    member's share of numbers is one share, and Redis holds no blind index of them."""
    import redis

    redis_url = request.getfixturevalue("redis_url")
    settings = make_settings(
        database_url="sqlite://", check_daily_numbers=2, redis_url=redis_url, index_key=new_key()
    )
    token, _ = members.issue(member(session, crypto), settings)
    with make_client(settings) as first, make_client(settings) as second:
        assert api_check(first, token, NUMBERS[0]).status_code == 200
        assert api_check(second, token, NUMBERS[1]).status_code == 200
        assert api_check(first, token, NUMBERS[2]).status_code == 429
        assert api_check(second, token, NUMBERS[0]).status_code == 200
    stored = b" ".join(redis.Redis.from_url(redis_url).keys("*"))
    for number in NUMBERS[:3]:
        digest = Crypto.from_settings(settings).index.digest("phone", number)
        assert digest.hex().encode() not in stored
        assert number.encode() not in stored


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDFLAG_TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests need REDFLAG_TEST_REDIS_URL (CI sets it)")
    return url
