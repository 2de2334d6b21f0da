"""How fast and how often: sends paced to the provider's rate, claims sized to the lease,
failed sends tried again later, with exponential backoff and jitter, until the delivery
deadline, and a provider that is down left alone but for one probe after each pause."""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections import deque
from datetime import datetime, timedelta

from alerts.delivery.claims import Job, Outcome
from alerts.models import DeliveryStatus
from app.db import aware
from app.settings import Settings

log = logging.getLogger("redflag.worker")
TRIP_WINDOW = 20  # a provider is down when most of its last this many sends failed transiently
LONGEST_PAUSE = 60.0  # seconds: the longest pause between probes, or after a failed round


class Pacer:
    """At most `rate` starts per second, spread evenly (a leaky bucket): each start 1/rate
    after the one before, or after when that one really started if it started late.

    The senders wait their turn one after another. Times handed out in advance (a slot
    each, then sleep) would not hold: after the event loop stalls (a long collection, a
    slow machine) every sleeper whose slot had passed would wake at once, and a burst of
    starts would reach the provider, whose own limits then refuse them."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            delay = self._next - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # the loop's timers may wake it up to 1 ms early
            self._next = max(self._next, time.monotonic()) + self.interval


def claim_size(settings: Settings) -> int:
    """A batch small enough to be sent well within its lease at the paced rate, so that
    no other worker takes it up again while it waits its turn."""
    if settings.worker_rate <= 0:
        return settings.worker_batch
    return max(
        1, min(settings.worker_batch, int(settings.worker_rate * settings.worker_lease_seconds / 4))
    )


def largest_claim(settings: Settings) -> int:
    """Unpaced, a claim may grow to four times the batch while senders wait for claims: a
    claim costs a few round trips and two commits, whatever its size. Paced, the rate is
    the bound and a batch must stay well within its lease."""
    batch = claim_size(settings)
    return batch * 4 if settings.worker_rate <= 0 else batch


def backoff(
    attempts: int, *, base: float = 5.0, cap: float = 900.0, rng: random.Random | None = None
) -> timedelta:
    """Exponential backoff with full jitter: a wait somewhere in [base, min(cap, base·2^n)]."""
    ceiling = min(cap, base * (2 ** max(attempts - 1, 0)))
    return timedelta(seconds=(rng or random).uniform(base, max(base, ceiling)))


def deadline_passed(job: Job, *, hours: int, now: datetime) -> bool:
    return now - aware(job.created_at) > timedelta(hours=hours)


def retry_or_fail(job: Job, code: str, *, settings: Settings, now: datetime) -> Outcome:
    """A send that may succeed later: due again after a backoff, or failed for good once
    REDFLAG_DELIVERY_DEADLINE_HOURS have passed since the message was written."""
    if deadline_passed(job, hours=settings.delivery_deadline_hours, now=now):
        return Outcome(
            job.delivery_id, DeliveryStatus.failed.value, error_code=f"deadline:{code}"[:32]
        )
    wait = backoff(job.attempts, base=settings.retry_base_seconds, cap=settings.retry_cap_seconds)
    return Outcome(
        job.delivery_id, DeliveryStatus.pending.value, error_code=code, retry_at=now + wait
    )


def growing_pause(failures: int, *, base: float, cap: float = LONGEST_PAUSE) -> float:
    """base after the first failure in a row, doubling with each one after it, up to cap."""
    return min(cap, base * 2 ** max(failures - 1, 0))


class Turn(enum.Enum):
    send = "send"
    probe = "probe"  # the provider is down: this one send asks whether it is back


class Breaker:
    """One channel's provider as its answers show it. When most of the last TRIP_WINDOW
    sends failed transiently (a 5xx, a 429, a timeout), it is down: nothing more goes to it
    until a pause is over, then one message goes as a probe. An answer to the probe ends
    the outage; a failure makes the next pause twice as long (up to LONGEST_PAUSE). A
    provider that is down thus costs one request a pause, not one a message, and its
    outage is logged once."""

    def __init__(self, channel: str, *, base: float) -> None:
        self.channel = channel
        self.base = base
        self.recent: deque[bool] = deque(maxlen=TRIP_WINDOW)  # True: failed transiently
        self.down = False
        self.failed_probes = 0
        self.paused_until = 0.0
        self.probing = False

    def may_claim(self) -> bool:
        """Whether to claim messages for this channel now: up, or due for a probe."""
        return not self.down or (not self.probing and time.monotonic() >= self.paused_until)

    def turn(self) -> Turn | None:
        """A message may go out now (Turn.send), as the probe (Turn.probe), or not (None)."""
        if not self.down:
            return Turn.send
        if self.probing or time.monotonic() < self.paused_until:
            return None
        self.probing = True
        return Turn.probe

    def answered(self, turn: Turn, *, failed: bool) -> None:
        """The provider's answer to a send: `failed`, it did not take it and might later."""
        if turn is Turn.probe:
            self.probing = False
            if failed:
                self.failed_probes += 1
                self._pause()
            else:
                log.info(
                    "%s provider answers again after %d failed probes; sending resumes",
                    self.channel,
                    self.failed_probes,
                )
                self.down, self.failed_probes = False, 0
                self.recent.clear()
        elif not self.down:  # answers to sends made before it went down say nothing new
            self.recent.append(failed)
            if sum(self.recent) > TRIP_WINDOW // 2:
                self.down = True
                self._pause()
                log.warning(
                    "%s provider failing (%d of its last %d sends); sending paused, "
                    "one probe after each pause, pauses growing to %.0f s",
                    self.channel,
                    sum(self.recent),
                    len(self.recent),
                    LONGEST_PAUSE,
                )

    def _pause(self) -> None:
        pause = growing_pause(self.failed_probes + 1, base=self.base)
        self.paused_until = time.monotonic() + pause
