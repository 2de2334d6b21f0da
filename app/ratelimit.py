"""Per-client rate limits that never store who the client is.

The client address is used in memory for the length of one request, and only to
derive a pseudonym: an HMAC of the address and the day under a key that never leaves
the process (without the day for login failures, so a lock-out outlasts midnight: see
FailureCounter). Counters are keyed by that pseudonym (in memory, or in Redis so that
replicas share them), expire with their window, and cannot be turned back into an
address by someone who reads Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum

from limits import (
    RateLimitItem,
    RateLimitItemPerDay,
    RateLimitItemPerHour,
    RateLimitItemPerMinute,
    parse_many,
)
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

    def _pseudonym(self, client: str, *, daily: bool = True) -> str:
        """The client's HMAC, with the day unless a count must outlast midnight (a lock-out)."""
        day = datetime.now(UTC).date().isoformat() if daily else "lasting"
        return hmac.new(self._key, f"{day}|{client}".encode(), hashlib.sha256).hexdigest()[:32]

    def hit(self, bucket: str, client: str) -> None:
        """Count one request of `client` against `bucket`; raise RateLimited when over.

        Each window is taken in one step (the storage's hit refuses when full), so
        requests at the same moment cannot all look before any of them counts."""
        who = self._pseudonym(client)
        for item in self._rules[bucket]:
            if not self._limiter.hit(item, bucket, who):
                reset_at, _ = self._limiter.get_window_stats(item, bucket, who)
                raise _limited(reset_at)

    def allow_destination(self, bucket: str, index: bytes) -> bool:
        """Count one message to a destination (a number or address, by its blind index)
        against `bucket`; False when it has had its share.

        Each window is taken in one step (no test-then-hit), so requests at the same
        moment cannot all slip under the limit. Keyed on an HMAC of the blind index
        without the day: the index is already a pseudonym, and a limit of so many a day
        must not start again at midnight."""
        who = hmac.new(self._key, b"destination|" + index, hashlib.sha256).hexdigest()[:32]
        return all(self._limiter.hit(item, bucket, who) for item in self._rules[bucket])


def _limited(reset_at: float) -> RateLimited:
    return RateLimited(retry_after=max(1, int(reset_at - time.time())))


@dataclass(frozen=True)
class Lockout:
    """After `failures` failures of one client on one subject (an account), that client is
    kept out of that subject for `minutes`; others are not. More than `crowd` clients
    failing on one subject within an hour is a distributed guess, worth an admin's eye."""

    failures: int
    minutes: int
    crowd: int = 20


class FailureCounter:
    """Attempts per subject AND client, so nobody can lock anyone else out.

    An attempt is counted before it is judged and forgotten when it succeeds: requests
    sent at the same moment cannot all be judged before any failure counts. The client
    is keyed on an HMAC of its address without the day (a lock-out does not end at
    midnight; the counts expire within the hour anyway), subjects on an HMAC too: the
    storage never holds a username or an address. Uses the rate limiter's storage
    (memory, or Redis shared by replicas)."""

    def __init__(self, limiter: RateLimiter, *, bucket: str, lockout: Lockout) -> None:
        self._limiter = limiter
        self._bucket = bucket
        self._failures = RateLimitItemPerMinute(lockout.failures, lockout.minutes)
        self._lock = RateLimitItemPerMinute(1, lockout.minutes)
        self._once_an_hour = RateLimitItemPerHour(1)
        self._crowd = RateLimitItemPerHour(lockout.crowd)

    def _keys(self, client: str, subject: str) -> tuple[str, str]:
        mac = hmac.new(self._limiter._key, f"subject|{subject}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32], self._limiter._pseudonym(client, daily=False)

    def attempt(self, client: str, subject: str) -> None:
        """Count one attempt of `client` on `subject` before it is judged; RateLimited
        (429, Retry-After) when the client has no tries left, and from then on for
        Lockout.minutes. The count is one atomic step of the storage."""
        strategy = self._limiter._limiter
        about, who = self._keys(client, subject)
        lock = f"{self._bucket}-lock"
        if strategy.test(self._lock, lock, about, who) and strategy.hit(
            self._failures, f"{self._bucket}-failures", about, who
        ):
            return
        # No clearing of the failures here: they all predate the lock and expire before it.
        strategy.hit(self._lock, lock, about, who)
        reset_at, _ = strategy.get_window_stats(self._lock, lock, about, who)
        raise _limited(reset_at)

    def failed(self, client: str, subject: str) -> bool:
        """The attempt failed (it is counted already). True once an hour, when more than
        `crowd` clients have failed on `subject` within the hour."""
        strategy = self._limiter._limiter
        about, who = self._keys(client, subject)
        if not strategy.hit(self._once_an_hour, f"{self._bucket}-seen", about, who):
            return False  # this client was counted among the hour's clients already
        if strategy.hit(self._crowd, f"{self._bucket}-crowd", about):
            return False
        return strategy.hit(self._once_an_hour, f"{self._bucket}-crowd-flagged", about)

    def succeeded(self, client: str, subject: str) -> None:
        """A success forgets this client's attempts on `subject`, this one included."""
        about, who = self._keys(client, subject)
        self._limiter._limiter.clear(self._failures, f"{self._bucket}-failures", about, who)


class Distinct(Enum):
    """What DailyDistinct.admit decided about one thing."""

    admitted = "admitted"  # already counted today, or a new one within the day's share
    refused = "refused"  # a new one over the share, the first time today
    refused_again = "refused_again"  # ... asked for again


@dataclass(frozen=True)
class Admission:
    outcome: Distinct
    day: date  # the UTC day it was counted on
    retry_after: int  # seconds until that day ends


class DailyDistinct:
    """At most `most` different things (keyed hashes, such as a blind index) per subject
    (a member) per UTC day; the same thing again that day is always admitted.

    Uses the rate limiter's storage (memory, or Redis shared by processes and replicas)
    and keeps there only HMACs of the subject and of the thing, each with the day, under
    the limiter's key: what one member checked cannot be matched with another day, another
    member, or the database's blind indexes. Every entry expires within a day of its hit.
    """

    def __init__(self, limiter: RateLimiter, *, bucket: str, most: int) -> None:
        self._limiter = limiter
        self._bucket = bucket
        self._most = RateLimitItemPerDay(most)
        self._once = RateLimitItemPerDay(1)

    def _mac(self, *parts: bytes) -> str:
        return hmac.new(self._limiter._key, b"|".join(parts), hashlib.sha256).hexdigest()[:32]

    def admit(self, subject: str, thing: bytes) -> Admission:
        """Count `thing` for `subject` today, unless already counted.

        A thing is marked as counted only after the day's count took it, so two requests
        for the same new thing at once may both be counted (the subject loses one), but
        never can racing requests get a thing past a full count."""
        now = datetime.now(UTC)
        day = now.date()
        tomorrow = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        retry_after = max(1, int((tomorrow - now).total_seconds()))
        strategy = self._limiter._limiter
        who = self._mac(b"distinct", day.isoformat().encode(), subject.encode())
        what = self._mac(b"thing", who.encode(), thing)
        seen = f"{self._bucket}-seen"
        if not strategy.test(self._once, seen, who, what):
            return Admission(Distinct.admitted, day, retry_after)
        if strategy.hit(self._most, f"{self._bucket}-count", who):
            strategy.hit(self._once, seen, who, what)
            return Admission(Distinct.admitted, day, retry_after)
        first = strategy.hit(self._once, f"{self._bucket}-refused", who, what)
        return Admission(Distinct.refused if first else Distinct.refused_again, day, retry_after)
