"""Per-client rate limits that never store who the client is.

The client address is used in memory for the length of one request, and only to
derive a pseudonym: an HMAC of the address and the day under a key that never leaves
the process. Counters are keyed by that pseudonym (in memory, or in Redis so that
replicas share them), expire with their window, and cannot be turned back into an
address by someone who reads Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.errors import RateLimited


class RateLimiter:
    def __init__(self, *, storage_uri: str, key: bytes, rules: dict[str, str]) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
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


    def allow_destination(self, bucket: str, index: bytes) -> bool:
        """Count one message to a destination (a number or address, by its blind index)
        against `bucket`; False, and nothing counted, when it has had its share.

        Keyed on an HMAC of the blind index without the day: the index is already a
        pseudonym, and a limit of so many a day must not start again at midnight."""
        who = hmac.new(self._key, b"destination|" + index, hashlib.sha256).hexdigest()[:32]
        items = self._rules[bucket]
        if not all(self._limiter.test(item, bucket, who) for item in items):
            return False
        for item in items:
            self._limiter.hit(item, bucket, who)
        return True

def _limited(reset_at: float) -> RateLimited:
    return RateLimited(retry_after=max(1, int(reset_at - time.time())))
