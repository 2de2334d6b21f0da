"""The delivery worker: claims due messages, sends them, records what happened.

Many workers can run against one PostgreSQL database; each claims its own batch. Within
a worker, sends run concurrently (REDFLAG_WORKER_CONCURRENCY) and are paced to the
provider's rate (REDFLAG_WORKER_RATE messages per second). Transient failures come back
later with exponential backoff and jitter, until REDFLAG_DELIVERY_DEADLINE_HOURS;
permanent ones are final, and an opted-out or unreachable subscriber is dealt with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import update
from sqlmodel import Session, col

from alerts import metrics
from alerts import service as alerts_service
from alerts.delivery import outbox as delivery
from alerts.delivery.outbox import Job, Outcome
from alerts.delivery.providers import (
    OPTED_OUT,
    UNREACHABLE,
    Message,
    PermanentSendError,
    Provider,
    SendError,
)
from alerts.models import PURPOSE_CONTACT, Alert, DeliveryStatus, MessageKind, Subscriber
from alerts.render import (
    AlertView,
    Email,
    render_email,
    render_retraction_email,
    render_retraction_sms,
    render_sms,
    render_update_email,
    render_update_sms,
)
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import SessionFactory, utcnow
from app.settings import Settings

log = logging.getLogger("redflag.worker")
T = TypeVar("T")


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


class Prepared(NamedTuple):
    job: Job
    message: Message | None  # None: the recipient is gone


Result = tuple[Job, Outcome]
_METER_OUTCOME = {DeliveryStatus.sent.value: "sent", DeliveryStatus.pending.value: "retry"}


@dataclass
class Known:
    """What a round has read and rendered already. A published alert never changes (news
    about it is a new, numbered update), so each alert is read, and each of its texts
    rendered per language, once a round instead of once a batch. Dropped with the round."""

    views: dict[int, AlertView | None] = field(default_factory=dict)
    updates: dict[tuple[int, int], str | None] = field(default_factory=dict)
    sms: dict[tuple[int, str, int, str], str] = field(default_factory=dict)


RECORD_EVERY = 1.0  # seconds: outcomes are written at least this often while sending


class Worker:
    """Sends as a pipeline: while one batch's messages are on the wire, the outcomes of the
    last are written and the next batch is claimed. The database work runs on one thread
    of its own, one step at a time, so it never holds up the sending."""

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
        self.batch = claim_size(settings)
        # Unpaced, a batch may grow to four times that while senders wait for claims: a
        # claim costs a few round trips and two commits, whatever its size. Paced, the
        # rate is the bound and a batch must stay well within its lease.
        self.most = self.batch * 4 if settings.worker_rate <= 0 else self.batch
        self._db: ThreadPoolExecutor | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; a failed round is logged and tried again."""
        log.info(
            "delivery worker started (channels: %s)", ", ".join(sorted(self.providers)) or "none"
        )
        housekeeping_due = time.monotonic()
        with self._database_thread():
            while not stop.is_set():
                if self.housekeeping is not None and time.monotonic() >= housekeeping_due:
                    housekeeping_due += self.settings.retention_every_minutes * 60
                    try:
                        await self._in_db(self._housekeep)
                    except Exception:
                        log.exception("retention failed; trying again at the next run")
                try:
                    claimed = await self._pump(stop)
                except Exception:
                    log.exception("delivery round failed; trying again shortly")
                    claimed = 0
                if claimed == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            stop.wait(), timeout=self.settings.worker_poll_seconds
                        )
        log.info("delivery worker stopped")

    async def drain(self) -> int:
        """Send everything that is due now, then return how many messages were claimed (for
        tests, benchmarks and `redflag worker --once`). Retries due later are left for later."""
        with self._database_thread():
            return await self._pump(None)

    async def _pump(self, stop: asyncio.Event | None) -> int:
        """Claim, send and record until nothing is due (or `stop` is set). While one batch
        goes out, the outcomes so far are written and the next batch is claimed.

        REDFLAG_WORKER_CONCURRENCY senders each take the next message as soon as their last
        one is answered, like so many clients: no task per message, which at thousands of
        messages a second costs more than the sending itself."""
        if not self.providers:
            return 0
        queue: deque[Prepared] = deque()
        results: list[Result] = []
        claimed = 0
        sending = 0  # senders with a message on the wire
        quiet = asyncio.Event()  # set while none is
        quiet.set()
        finished = False  # nothing more is due, `stop` was set, or a step failed
        refilling = asyncio.Lock()
        recording: asyncio.Future[None] | None = None
        last_record = time.monotonic()
        known = Known()
        size = self.batch  # grows while senders wait for claims, when unpaced

        def record_and_claim() -> asyncio.Future[list[Prepared]]:
            nonlocal results, last_record
            done, results = results, []
            last_record = time.monotonic()
            return asyncio.ensure_future(self._in_db(self._record_and_claim, done, known, size))

        ahead: asyncio.Future[list[Prepared]] | None = record_and_claim()

        def record_meanwhile() -> None:
            """While a long batch goes out, its outcomes so far are written too: a provider's
            status report finds its message only once the provider's id is recorded."""
            nonlocal results, last_record, recording
            if recording is not None:
                if not recording.done():
                    return
                recording.result()  # a failure to write outcomes ends this round
            done, results = results, []
            last_record = time.monotonic()
            recording = asyncio.ensure_future(self._in_db(self._record, done))

        async def refill() -> None:
            """The batch claimed ahead goes in the queue, and the one after it is claimed.
            When none came back, the messages still on the wire are awaited and recorded,
            and then one more look: nothing due then ends the round."""
            nonlocal ahead, claimed, finished, size
            while not queue and not finished:
                if stop is not None and stop.is_set():
                    finished = True
                    return
                assert ahead is not None
                waiting, ahead = ahead, None
                if claimed and not waiting.done():  # senders idle, waiting for the database
                    size = min(size * 2, self.most)
                batch = await waiting
                if batch:
                    claimed += len(batch)
                    queue.extend(batch)
                elif sending == 0:
                    finished = True
                    return
                else:
                    await quiet.wait()  # the tail: record it, then look again
                ahead = record_and_claim()

        def take_ahead_early() -> None:
            """The batch claimed ahead joins the queue as soon as it is there and the queue
            is down to less than a batch, and the one after it is claimed at once: the
            database thread keeps a batch ahead, so senders do not wait for a claim. (At most
            two batches wait their turn: half a lease at the paced rate, see claim_size.)"""
            nonlocal ahead, claimed
            if ahead is None or not ahead.done() or len(queue) >= size:
                return
            if ahead.cancelled() or ahead.exception() is not None:
                return  # refill() raises it, when the queue runs dry
            if batch := ahead.result():  # none: the tail is refill()'s
                claimed += len(batch)
                queue.extend(batch)
                ahead = record_and_claim()

        async def sender() -> None:
            nonlocal sending, finished
            try:
                while True:
                    if not queue:
                        async with refilling:
                            await refill()
                    if finished or (stop is not None and stop.is_set()):
                        return
                    if not queue:
                        continue
                    item = queue.popleft()
                    take_ahead_early()
                    sending += 1
                    quiet.clear()
                    try:
                        outcome = await self._send(item)
                        results.append((item.job, outcome))  # the list of now, not of before
                    finally:
                        sending -= 1
                        if sending == 0:
                            quiet.set()
                    if results and time.monotonic() - last_record > RECORD_EVERY:
                        record_meanwhile()
            except BaseException:
                finished = True  # the others stop taking messages; this one's error ends the round
                raise

        senders = [
            asyncio.ensure_future(sender()) for _ in range(max(1, self.settings.worker_concurrency))
        ]
        try:
            await asyncio.gather(*senders)
        finally:
            finished = True
            await asyncio.wait(senders)
            if recording is not None:
                await asyncio.wait([recording])
                if not recording.cancelled() and recording.exception() is not None:
                    log.warning("writing outcomes failed; those messages go again after the lease")
            unsent = list(queue)
            if ahead is not None:  # claimed ahead, never started
                try:
                    unsent += await ahead
                except Exception:
                    log.warning("claiming ahead failed; nothing of it to hand back")
            await self._in_db(self._hand_back, unsent, results)
        return claimed

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

    def _record_and_claim(self, finished: list[Result], known: Known, size: int) -> list[Prepared]:
        """Two transactions on one connection: the outcomes are kept even if the claim fails."""
        with self.session_factory() as session:
            self._write(session, finished)
            return self._claim(session, known, size)

    def _hand_back(self, unsent: list[Prepared], finished: list[Result]) -> None:
        """On the way out: what was sent is recorded, what was claimed and not sent is due
        again at once (not after its lease), the claim not counted as an attempt."""
        self._record(finished)
        if unsent:
            with self.session_factory() as session:
                delivery.release(session, ids=[p.job.delivery_id for p in unsent])
                session.commit()

    def _claim(self, session: Session, known: Known, size: int) -> list[Prepared]:
        jobs = delivery.claim_due(
            session,
            batch=size,
            lease=timedelta(seconds=self.settings.worker_lease_seconds),
            channels=list(self.providers),
        )
        session.commit()
        return self._prepare(session, jobs, known) if jobs else []

    def _prepare(self, session: Session, jobs: list[Job], known: Known) -> list[Prepared]:
        cipher = self.crypto.cipher
        for alert_id in {j.alert_id for j in jobs} - known.views.keys():
            alert = session.get(Alert, alert_id)
            known.views[alert_id] = (
                None if alert is None else alerts_service.view(session, alert=alert, cipher=cipher)
            )
        news = {(j.alert_id, j.update_no) for j in jobs if j.kind == MessageKind.update}
        if news := news - known.updates.keys():
            texts = alerts_service.update_texts(session, keys=news, cipher=cipher)
            known.updates.update({key: texts.get(key) for key in news})
        rendered = known.sms
        prepared = []
        for job in jobs:
            view = known.views[job.alert_id]
            update_text = known.updates.get((job.alert_id, job.update_no))
            if (
                job.contact_enc is None
                or job.language is None
                or view is None
                or (job.kind == MessageKind.update and update_text is None)
            ):
                prepared.append(Prepared(job, None))
                continue
            contact = cipher.decrypt(job.contact_enc, purpose=PURPOSE_CONTACT)
            language = job.language
            if job.channel == "email":
                url = self._unsubscribe_url(job.subscriber_id)
                headers = {
                    "List-Unsubscribe": f"<{url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                }
                mail = self._render_email(job, view, language, url, update_text)
                message = Message(job.channel, contact, mail.text, mail.subject, mail.html, headers)
            else:
                key = (job.alert_id, job.kind, job.update_no, language)
                if key not in rendered:
                    rendered[key] = self._render_sms(job, view, language, update_text)
                message = Message(job.channel, contact, rendered[key])
            prepared.append(Prepared(job, message))
        return prepared

    def _render_sms(self, job: Job, view: AlertView, lang: str, update_text: str | None) -> str:
        if job.kind == MessageKind.retraction:
            return render_retraction_sms(view, lang)
        if job.kind == MessageKind.update:
            assert update_text is not None
            return render_update_sms(view, lang, text=update_text)
        return render_sms(view, lang, masking=self.settings.identifier_masking)

    def _render_email(
        self, job: Job, view: AlertView, lang: str, url: str, update_text: str | None
    ) -> Email:
        if job.kind == MessageKind.retraction:
            return render_retraction_email(view, lang, unsubscribe_url=url)
        if job.kind == MessageKind.update:
            assert update_text is not None
            return render_update_email(view, lang, text=update_text, unsubscribe_url=url)
        return render_email(
            view, lang, masking=self.settings.identifier_masking, unsubscribe_url=url
        )

    def _unsubscribe_url(self, subscriber_id: int) -> str:
        token = subscriptions.unsubscribe_token(self.crypto.index, subscriber_id)
        return f"{self.settings.public_url.rstrip('/')}/u/{token}"

    def _record(self, results: list[Result]) -> None:
        if results:
            with self.session_factory() as session:
                self._write(session, results)

    def _write(self, session: Session, results: list[Result]) -> None:
        """The outcomes, and what they say about their recipients; commits."""
        if not results:
            return
        delivery.record(session, [outcome for _, outcome in results])
        for job, outcome in results:
            if outcome.error_code in OPTED_OUT:
                subscriber = session.get(Subscriber, job.subscriber_id)
                if subscriber is not None:
                    subscriptions.remove(session, subscriber=subscriber)
            elif outcome.error_code in UNREACHABLE:
                session.execute(
                    update(Subscriber)
                    .where(col(Subscriber.id) == job.subscriber_id)
                    .values(unreachable_at=self.clock())
                )
        session.commit()

    # ---- sending -------------------------------------------------------------------------------

    async def _send(self, item: Prepared) -> Outcome:
        job = item.job
        if item.message is None:
            return Outcome(
                job.delivery_id, DeliveryStatus.cancelled.value, error_code="recipient-gone"
            )
        await self.pacer.wait()
        started = time.perf_counter()
        outcome = await self._hand_to_provider(job, item.message)
        took, count = metrics.send_meters(job.channel, _METER_OUTCOME.get(outcome.status, "failed"))
        took.observe(time.perf_counter() - started)
        count.inc()
        return outcome

    async def _hand_to_provider(self, job: Job, message: Message) -> Outcome:
        try:
            provider_id = await self.providers[job.channel].send(message)
        except PermanentSendError as exc:
            return Outcome(job.delivery_id, DeliveryStatus.failed.value, error_code=exc.code)
        except SendError as exc:  # transient, or of a kind we do not know: tried again later
            return self._retry_or_fail(job, exc.code)
        except Exception as exc:  # a bug or an unexpected library error: retried, never lost
            log.warning("send raised %s; will retry", type(exc).__name__)
            return self._retry_or_fail(job, type(exc).__name__[:32])
        return Outcome(job.delivery_id, DeliveryStatus.sent.value, provider_id=provider_id)

    def _retry_or_fail(self, job: Job, code: str) -> Outcome:
        now = self.clock()
        if delivery.deadline_passed(job, hours=self.settings.delivery_deadline_hours, now=now):
            return Outcome(
                job.delivery_id, DeliveryStatus.failed.value, error_code=f"deadline:{code}"[:32]
            )
        return Outcome(
            job.delivery_id,
            DeliveryStatus.pending.value,
            error_code=code,
            retry_at=now
            + delivery.backoff(
                job.attempts,
                base=self.settings.retry_base_seconds,
                cap=self.settings.retry_cap_seconds,
            ),
        )


def claim_size(settings: Settings) -> int:
    """A batch small enough to be sent well within its lease at the paced rate, so that
    no other worker takes it up again while it waits its turn."""
    if settings.worker_rate <= 0:
        return settings.worker_batch
    return max(
        1, min(settings.worker_batch, int(settings.worker_rate * settings.worker_lease_seconds / 4))
    )


def make_worker(
    settings: Settings,
    session_factory: SessionFactory,
    providers: dict[str, Provider],
    *,
    housekeeping: Callable[[Session], object] | None = None,
) -> Worker:
    return Worker(
        session_factory=session_factory,
        settings=settings,
        crypto=Crypto.from_settings(settings),
        providers=providers,
        housekeeping=housekeeping,
    )
