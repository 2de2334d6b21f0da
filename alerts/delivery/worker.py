"""The delivery worker: claims due messages, sends them, records what happened.

Many workers can run against one PostgreSQL database; each claims its own batches. A
round runs three kinds of stage together, in one asyncio.TaskGroup:

- claim: keeps a batch ahead of the senders (claims.py), composed into messages
  (compose.py);
- send: REDFLAG_WORKER_CONCURRENCY senders, paced to REDFLAG_WORKER_RATE messages a
  second (pacing.py);
- record: the outcomes are written with each claim, and at least every RECORD_EVERY
  seconds while a long batch goes out, with what the provider said about each number
  (verdict.py).

Transient failures come back later with exponential backoff and jitter, until
REDFLAG_DELIVERY_DEADLINE_HOURS; permanent ones are final. When most sends to a provider
fail transiently, it is down: the worker leaves it alone but for one probe after each of
growing pauses (pacing.Breaker). A round that fails (the database is unreachable) is
logged once and tried again after growing pauses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session

from alerts import metrics
from alerts.delivery import claims, verdict
from alerts.delivery.claims import Job, Outcome
from alerts.delivery.compose import MessageComposer, Prepared
from alerts.delivery.pacing import (
    Breaker,
    Pacer,
    Turn,
    claim_size,
    growing_pause,
    largest_claim,
    retry_or_fail,
)
from alerts.delivery.pipeline import Pipeline, Result
from alerts.delivery.providers import Message, PermanentSendError, Provider, SendError
from alerts.models import DeliveryStatus
from app import i18n
from app.crypto import Crypto
from app.db import SessionFactory, utcnow
from app.settings import Settings

log = logging.getLogger("redflag.worker")
T = TypeVar("T")
RECORD_EVERY = 1.0  # seconds: outcomes are written at least this often while sending
_METER_OUTCOME = {DeliveryStatus.sent.value: "sent", DeliveryStatus.pending.value: "retry"}


class Worker:
    """Sends while it claims and records: while one batch's messages are on the wire, the
    outcomes so far are written and the next batch is claimed. The database work runs on
    one thread of its own, one step at a time, so it never holds up the sending."""

    def __init__(
        self,
        *,
        session_factory: SessionFactory,
        settings: Settings,
        crypto: Crypto,
        providers: dict[str, Provider],
        clock: Callable[[], datetime] = utcnow,
        housekeeping: Callable[[Session], object] | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.housekeeping = housekeeping  # retention, run every REDFLAG_RETENTION_EVERY_MINUTES
        self.settings = settings
        self.crypto = crypto
        self.providers = providers
        self.clock = clock
        self.pacer = Pacer(settings.worker_rate)
        self.breakers = {
            channel: Breaker(channel, base=settings.retry_base_seconds) for channel in providers
        }
        self._db: ThreadPoolExecutor | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; a failed round is logged once and tried again after
        growing pauses until one works."""
        log.info(
            "delivery worker started (channels: %s)", ", ".join(sorted(self.providers)) or "none"
        )
        housekeeping_due = time.monotonic()
        failed_rounds = 0
        with self._database_thread():
            while not stop.is_set():
                if self.housekeeping is not None and time.monotonic() >= housekeeping_due:
                    housekeeping_due += self.settings.retention_every_minutes * 60
                    try:
                        await self._in_db(self._housekeep)
                    except Exception:
                        log.exception("retention failed; trying again at the next run")
                pause = self.settings.worker_poll_seconds
                try:
                    claimed = await self._round(stop)
                except Exception as exc:
                    failed_rounds += 1
                    if failed_rounds == 1:
                        _log_failed_round(exc)
                    claimed, pause = 0, growing_pause(failed_rounds, base=pause)
                else:
                    if failed_rounds:
                        log.info("delivery rounds work again after %d failed", failed_rounds)
                    failed_rounds = 0
                if claimed == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=pause)
        log.info("delivery worker stopped")

    async def drain(self) -> int:
        """Send everything that is due now, then return how many messages were claimed (for
        tests, benchmarks and `redflag worker --once`). Retries due later are left for later."""
        with self._database_thread():
            return await self._round(None)

    async def _round(self, stop: asyncio.Event | None) -> int:
        """Claim, send and record until nothing is due (or `stop` is set); on the way out,
        what was sent is recorded and what was claimed and not sent is handed back."""
        if not self.providers:
            return 0
        pipeline = Pipeline(
            size=claim_size(self.settings),
            largest=largest_claim(self.settings),
            senders=max(1, self.settings.worker_concurrency),
            stop=stop,
        )
        composer = MessageComposer(crypto=self.crypto, settings=self.settings)
        try:
            async with asyncio.TaskGroup() as stages:
                stages.create_task(pipeline.stage(self._claim_stage(pipeline, composer)))
                stages.create_task(pipeline.stage(self._record_stage(pipeline)))
                for _ in range(pipeline.senders):
                    stages.create_task(pipeline.stage(self._send_stage(pipeline)))
        finally:
            await self._in_db(self._hand_back, pipeline.take_unsent(), pipeline.take_outcomes())
        if pipeline.failure is not None:
            raise pipeline.failure
        return pipeline.claimed

    # ---- the stages ------------------------------------------------------------------------

    async def _claim_stage(self, pipeline: Pipeline, composer: MessageComposer) -> None:
        """Keeps a batch ahead of the senders: the next one is claimed as soon as less than
        a batch waits, with the outcomes so far written first. When none is due while
        messages are still on the wire, those are awaited and written, then one more look:
        nothing due then ends the round."""
        try:
            while not pipeline.ending:
                batch = await self._in_db(
                    self._record_and_claim,
                    pipeline.take_outcomes(),
                    pipeline.take_handed_back(),
                    composer,
                    pipeline.size,
                    [channel for channel, up in self.breakers.items() if up.may_claim()],
                )
                if batch:
                    pipeline.add(batch)
                    await pipeline.until(pipeline.room)
                elif not pipeline.quiet.is_set():
                    await pipeline.until(pipeline.quiet)
                else:
                    return
        finally:
            pipeline.close()

    async def _send_stage(self, pipeline: Pipeline) -> None:
        """One sender: it takes the next message as soon as its last one is answered, like
        one client of many. (No task per message: at thousands of messages a second that
        costs more than the sending itself.)"""
        while (item := await pipeline.next_message()) is not None:
            if (outcome := await self._send(item)) is None:
                pipeline.hand_back(item)
            else:
                pipeline.answered(item.job, outcome)

    async def _record_stage(self, pipeline: Pipeline) -> None:
        """While a long batch goes out, its outcomes so far are written too: a provider's
        delivery report finds its message only once the provider's id is recorded."""
        while not await pipeline.over_within(RECORD_EVERY / 4):
            if pipeline.outcomes and time.monotonic() - pipeline.written_at >= RECORD_EVERY:
                await self._in_db(self._record, pipeline.take_outcomes())

    # ---- database: one thread, one step at a time ------------------------------------------

    @contextlib.contextmanager
    def _database_thread(self) -> Iterator[None]:
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redflag-worker-db")
        try:
            yield
        finally:
            self._db.shutdown(wait=True)
            self._db = None

    async def _in_db(self, step: Callable[..., T], *args: Any) -> T:
        assert self._db is not None, "database steps run inside _database_thread()"
        return await asyncio.get_running_loop().run_in_executor(self._db, step, *args)

    def _housekeep(self) -> None:
        assert self.housekeeping is not None
        with self.session_factory() as session:
            self.housekeeping(session)
            session.commit()

    def _record_and_claim(
        self,
        finished: list[Result],
        handed_back: list[Prepared],
        composer: MessageComposer,
        size: int,
        channels: list[str],
    ) -> list[Prepared]:
        """Two transactions on one connection: the outcomes are kept even if the claim fails.
        What senders handed back is due again at once, for this claim or another worker's."""
        with self.session_factory() as session:
            self._write(session, finished)
            claims.release(session, ids=[p.job.delivery_id for p in handed_back])
            jobs = (
                claims.claim_due(
                    session,
                    batch=size,
                    lease=timedelta(seconds=self.settings.worker_lease_seconds),
                    channels=channels,
                )
                if channels
                else []
            )
            session.commit()
            return composer.prepare(session, jobs) if jobs else []

    def _hand_back(self, unsent: list[Prepared], finished: list[Result]) -> None:
        """On the way out: what was sent is recorded, what was claimed and not sent is due
        again at once (not after its lease), the claim not counted as an attempt."""
        self._record(finished)
        if unsent:
            with self.session_factory() as session:
                claims.release(session, ids=[p.job.delivery_id for p in unsent])
                session.commit()

    def _record(self, results: list[Result]) -> None:
        if results:
            with self.session_factory() as session:
                self._write(session, results)

    def _write(self, session: Session, results: list[Result]) -> None:
        """The outcomes, and what they say about their recipients' numbers; commits."""
        if not results:
            return
        claims.record(session, [outcome for _, outcome in results])
        now = self.clock()
        for job, outcome in results:
            if outcome.error_code is not None:
                verdict.apply(
                    session, subscriber_id=job.subscriber_id, code=outcome.error_code, now=now
                )
        session.commit()

    # ---- sending ---------------------------------------------------------------------------

    async def _send(self, item: Prepared) -> Outcome | None:
        """The message's outcome, or None: not sent, as its provider is down."""
        job = item.job
        if item.message is None:
            return Outcome(
                job.delivery_id, DeliveryStatus.cancelled.value, error_code="recipient-gone"
            )
        breaker = self.breakers[job.channel]
        if (turn := breaker.turn()) is None:
            return None
        await self.pacer.wait()
        if turn is Turn.send and breaker.down:  # it went down while this one waited its turn
            return None
        started = time.perf_counter()
        outcome, failed = await self._hand_to_provider(job, item.message)
        breaker.answered(turn, failed=failed)
        took, count = metrics.send_meters(job.channel, _METER_OUTCOME.get(outcome.status, "failed"))
        took.observe(time.perf_counter() - started)
        count.inc()
        return outcome

    async def _hand_to_provider(self, job: Job, message: Message) -> tuple[Outcome, bool]:
        """The outcome, and whether the send failed transiently: the provider did not take
        the message and might later (a sign that it may be down)."""
        try:
            provider_id = await self.providers[job.channel].send(message)
        except PermanentSendError as exc:
            failed = Outcome(job.delivery_id, DeliveryStatus.failed.value, error_code=exc.code)
            return failed, False
        except SendError as exc:  # transient, or of a kind we do not know: tried again later
            return retry_or_fail(job, exc.code, settings=self.settings, now=self.clock()), True
        except Exception as exc:  # a bug or an unexpected library error: retried, never lost
            log.warning("send raised %s; will retry", type(exc).__name__)
            code = type(exc).__name__[:32]
            return retry_or_fail(job, code, settings=self.settings, now=self.clock()), True
        return Outcome(job.delivery_id, DeliveryStatus.sent.value, provider_id=provider_id), False


def _log_failed_round(exc: Exception) -> None:
    """Said once for a run of failed rounds: an unreachable database in a line (its name
    only, no address), anything else with its traceback."""
    if isinstance(exc, OperationalError | InterfaceError):
        log.warning(
            "database unreachable (%s); delivery paused, tried again after growing pauses",
            type(exc.orig).__name__,
        )
    else:
        log.exception("delivery round failed; tried again after growing pauses")


def make_worker(
    settings: Settings,
    session_factory: SessionFactory,
    providers: dict[str, Provider],
    *,
    housekeeping: Callable[[Session], object] | None = None,
) -> Worker:
    i18n.use_site_name(settings.site_name)  # the worker renders SMS and email on its own
    i18n.use_texts(i18n.read_texts(settings.texts_file))
    return Worker(
        session_factory=session_factory,
        settings=settings,
        crypto=Crypto.from_settings(settings),
        providers=providers,
        housekeeping=housekeeping,
    )
