"""Rate limits: per client, without remembering who the client is; shared through Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.settings import Settings, new_key
from tests.conftest import TestDatabase
from tests.helpers import report_body, start_server_process


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDFLAG_TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests need REDFLAG_TEST_REDIS_URL (CI sets it)")
    return url


def test_replicas_share_one_budget_through_redis(
    redis_url: str,
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
) -> None:
    import redis

    # A fresh index key gives this test its own pseudonyms, so earlier runs do not count.
    from app.settings import new_key

    settings = make_settings(redis_url=redis_url, rate_limit_submit="3/minute", index_key=new_key())
    with make_client(settings) as first, make_client(settings) as second:
        statuses = [
            client.post("/api/v1/reports", json=report_body()).status_code
            for client in (first, second, first, second)
        ]
    assert statuses == [201, 201, 201, 429]

    keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys("*")]
    assert keys, "the counters live in Redis"
    assert not any("testclient" in k or "127.0.0.1" in k for k in keys), "no client address"


def test_two_app_processes_share_one_budget_through_redis(
    redis_url: str, database: TestDatabase, test_keys: dict[str, str], tmp_path: Path
) -> None:
    """Two real `redflag serve` processes, as two replicas behind a load balancer."""
    env = {
        "REDFLAG_DATABASE_URL": database.fresh(),
        "REDFLAG_DATA_KEY": test_keys["data_key"],
        "REDFLAG_INDEX_KEY": new_key(),  # pseudonyms of its own: earlier runs do not count
        "REDFLAG_JWT_SECRET": test_keys["jwt_secret"],
        "REDFLAG_SECRETS_FILE": str(tmp_path / "unused.env"),
        "REDFLAG_REDIS_URL": redis_url,
        "REDFLAG_RATE_LIMIT_SUBMIT": "3/minute",
        "REDFLAG_EMBEDDED_WORKER": "false",
    }
    servers = [start_server_process(env), start_server_process(env)]
    try:
        statuses = [
            httpx.post(f"{server.url}/api/v1/reports", json=report_body(), timeout=30).status_code
            for server in (*servers, *servers)
        ]
    finally:
        for server in servers:
            server.stop()
    assert statuses == [201, 201, 201, 429]


def test_the_address_is_only_used_as_a_daily_pseudonym() -> None:
    from app.ratelimit import RateLimiter

    limiter = RateLimiter(storage_uri="memory://", key=uuid.uuid4().bytes, rules={"x": "1/minute"})
    pseudonym = limiter._pseudonym("192.0.2.7")
    assert "192.0.2.7" not in pseudonym
    assert pseudonym == limiter._pseudonym("192.0.2.7")
    assert pseudonym != limiter._pseudonym("192.0.2.8")


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_a_client_over_its_budget_waits_and_others_do_not(
    storage: str, request: pytest.FixtureRequest
) -> None:
    """Every route and SMS command counts through `hit`, in memory or in Redis: one
    client's budget runs out, it is told how long to wait, and someone else goes on."""
    from app.errors import RateLimited
    from app.ratelimit import RateLimiter

    uri = "memory://" if storage == "memory" else request.getfixturevalue("redis_url")
    limiter = RateLimiter(storage_uri=uri, key=uuid.uuid4().bytes, rules={"x": "3/minute"})
    for _ in range(3):
        limiter.hit("x", "192.0.2.7")
    with pytest.raises(RateLimited) as over:
        limiter.hit("x", "192.0.2.7")
    assert 1 <= over.value.retry_after <= 60
    limiter.hit("x", "192.0.2.8")  # someone else is not held up


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_codes_to_one_destination_are_counted_whoever_asks(
    storage: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against SMS pumping: a destination's count is keyed on its blind index, not on a
    client, and not by day either, so that "5 a day" does not start again at midnight."""
    import app.ratelimit
    from app.ratelimit import RateLimiter

    uri = "memory://" if storage == "memory" else request.getfixturevalue("redis_url")
    limiter = RateLimiter(storage_uri=uri, key=uuid.uuid4().bytes, rules={"codes": "3/hour"})
    index = os.urandom(32)
    assert [limiter.allow_destination("codes", index) for _ in range(3)] == [True] * 3

    class Tomorrow(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + timedelta(days=1)

    monkeypatch.setattr(app.ratelimit, "datetime", Tomorrow)
    assert limiter.allow_destination("codes", index) is False, "still over after midnight"
    assert limiter.allow_destination("codes", os.urandom(32)), "another destination is not"
    if storage == "redis":
        import redis

        keys = b" ".join(redis.Redis.from_url(uri).keys("*"))
        assert index.hex().encode() not in keys, "not the blind index itself"


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_codes_asked_for_at_the_same_moment_stay_within_the_limit(
    storage: str, request: pytest.FixtureRequest
) -> None:
    """Twenty requests at once for one number: three codes, not one per request that
    looked before any of them counted."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from app.ratelimit import RateLimiter

    uri = "memory://" if storage == "memory" else request.getfixturevalue("redis_url")
    limiter = RateLimiter(storage_uri=uri, key=uuid.uuid4().bytes, rules={"codes": "3/hour;5/day"})
    index = os.urandom(32)
    start = Barrier(20)

    def ask(_: int) -> bool:
        start.wait()
        return limiter.allow_destination("codes", index)

    with ThreadPoolExecutor(20) as pool:
        allowed = list(pool.map(ask, range(20)))
    assert allowed.count(True) == 3


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_requests_at_the_same_moment_stay_within_a_clients_limit(
    storage: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty requests at once from one client against 3 a minute: three get through, not
    every one that looked before any of them had counted."""
    import time
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from app.errors import RateLimited
    from app.ratelimit import RateLimiter

    uri = "memory://" if storage == "memory" else request.getfixturevalue("redis_url")
    limiter = RateLimiter(storage_uri=uri, key=uuid.uuid4().bytes, rules={"x": "3/minute"})
    kind = type(limiter._limiter.storage)
    look = kind.get_moving_window

    def look_across_a_busy_network(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen = look(self, *args, **kwargs)
        time.sleep(0.005)  # the answer arrives a little later; nothing is timed
        return seen

    monkeypatch.setattr(kind, "get_moving_window", look_across_a_busy_network)
    start = Barrier(20)

    def ask(_: int) -> bool:
        start.wait()
        try:
            limiter.hit("x", "192.0.2.7")
        except RateLimited:
            return False
        return True

    with ThreadPoolExecutor(20) as pool:
        allowed = list(pool.map(ask, range(20)))
    assert allowed.count(True) == 3
