"""Per-client rate limits that never store who the client is.

The client address is used in memory for the length of one request, and only to
derive a pseudonym: an HMAC of the address and the day under a key that never leaves
the process. Counters are keyed by that pseudonym (in memory, or in Redis so that
replicas share them), expire with their window, and cannot be turned back into an
address by someone who reads Redis.

`hit` is for code on a worker thread; `ahit` for the event loop, where counting in
memory costs microseconds and Redis is asked through its asyncio client, so a request
on an async route never waits for a thread to count it. Both share the same counters.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindowRateLimiter
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.errors import RateLimited
from app.loops import PerLoop


class RateLimiter:
    def __init__(self, *, storage_uri: str, key: bytes, rules: dict[str, str]) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self._in_memory = storage_uri.startswith("memory://")
        self._async = PerLoop(
            lambda: AsyncMovingWindowRateLimiter(
                storage_from_string(f"async+{storage_uri}", implementation="redispy")
            )
        )
        self._rules: dict[str, list[RateLimitItem]] = {
            name: parse_many(spec) for name, spec in rules.items()
        }
        self._key = key

    def _pseudonym(self, client: str) -> str:
        day = datetime.now(UTC).date().isoformat()
        return hmac.new(self._key, f"{day}|{client}".encode(), hashlib.sha256).hexdigest()[:32]

    def hit(self, bucket: str, client: str) -> None:
        """Count one request of `client` against `bucket`; raise RateLimited when over."""
        who = self._pseudonym(client)
        items = self._rules[bucket]
        for item in items:
            if not self._limiter.test(item, bucket, who):
                reset_at, _ = self._limiter.get_window_stats(item, bucket, who)
                raise _limited(reset_at)
        for item in items:
            self._limiter.hit(item, bucket, who)

    async def ahit(self, bucket: str, client: str) -> None:
        """`hit` for the event loop."""
        if self._in_memory:
            self.hit(bucket, client)
            return
        limiter = self._async.get()
        who = self._pseudonym(client)
        items = self._rules[bucket]
        for item in items:
            if not await limiter.test(item, bucket, who):
                reset_at, _ = await limiter.get_window_stats(item, bucket, who)
                raise _limited(reset_at)
        for item in items:
            await limiter.hit(item, bucket, who)


def _limited(reset_at: float) -> RateLimited:
    return RateLimited(retry_after=max(1, int(reset_at - time.time())))
