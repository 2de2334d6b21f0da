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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select

from alerts import delivery, subscriptions
from alerts import service as alerts_service
from alerts.delivery import Job, Outcome
from alerts.models import Alert, DeliveryStatus, MessageKind, Subscriber
from alerts.providers import (
    OPTED_OUT,
    UNREACHABLE,
    Message,
    PermanentSendError,
    Provider,
    SendError,
    TransientSendError,
)
from alerts.render import (
    AlertView,
    render_email,
    render_retraction_email,
    render_retraction_sms,
    render_sms,
)
from app.crypto import Crypto
from app.db import SessionFactory, utcnow
from app.settings import Settings

log = logging.getLogger("redflag.worker")


class Pacer:
    """At most `rate` starts per second, spread evenly (a leaky bucket)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


@dataclass(frozen=True)
class Prepared:
    job: Job
    message: Message | None  # None: the recipient is gone


class Worker:
    def __init__(
        self,
        *,
        session_factory: SessionFactory,
        settings: Settings,
        crypto: Crypto,
        providers: dict[str, Provider],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.crypto = crypto
        self.providers = providers
        self.clock = clock
        self.pacer = Pacer(settings.worker_rate)
        self.concurrency = asyncio.Semaphore(settings.worker_concurrency)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; a failed round is logged and tried again."""
        log.info(
            "delivery worker started (channels: %s)", ", ".join(sorted(self.providers)) or "none"
        )
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:
                log.exception("delivery round failed; trying again shortly")
                done = 0
            if done == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.worker_poll_seconds)
        log.info("delivery worker stopped")

    async def run_once(self) -> int:
        """One batch: claim, prepare, send, record. Returns how many were claimed."""
        if not self.providers:
            return 0
        jobs = await asyncio.to_thread(self._claim)
        if not jobs:
            return 0
        prepared = await asyncio.to_thread(self._prepare, jobs)
        outcomes = await asyncio.gather(*(self._send(p) for p in prepared))
        await asyncio.to_thread(self._record, outcomes, prepared)
        return len(jobs)

    async def drain(self, *, max_rounds: int = 10_000) -> None:
        """Run rounds until nothing is due (for tests, benchmarks and `redflag worker --once`)."""
        for _ in range(max_rounds):
            if await self.run_once() == 0:
                return

    # ---- database ----------------------------------------------------------------------------

    def _claim(self) -> list[Job]:
        with self.session_factory() as session:
            jobs = delivery.claim_due(
                session,
                batch=self.settings.worker_batch,
                lease=timedelta(seconds=self.settings.worker_lease_seconds),
                channels=list(self.providers),
            )
            session.commit()
            return jobs

    def _prepare(self, jobs: list[Job]) -> list[Prepared]:
        cipher = self.crypto.cipher
        with self.session_factory() as session:
            subscribers = {
                s.id: s
                for s in session.exec(
                    select(Subscriber).where(
                        col(Subscriber.id).in_({j.subscriber_id for j in jobs})
                    )
                )
            }
            views: dict[int, AlertView] = {}
            for alert_id in {j.alert_id for j in jobs}:
                alert = session.get(Alert, alert_id)
                if alert is not None:
                    views[alert_id] = alerts_service.view(session, alert=alert, cipher=cipher)
        rendered: dict[tuple[int, str, str, str], str] = {}
        prepared = []
        for job in jobs:
            subscriber = subscribers.get(job.subscriber_id)
            view = views.get(job.alert_id)
            if subscriber is None or view is None:
                prepared.append(Prepared(job, None))
                continue
            contact = subscriptions.contact_of(subscriber, self.crypto)
            headers: dict[str, str] = {}
            if job.channel == "email":
                url = self._unsubscribe_url(subscriber)
                headers = {
                    "List-Unsubscribe": f"<{url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                }
                text, subject, html = self._render_email(job, view, subscriber.language, url)
                message = Message(job.channel, contact, text, subject, html, headers)
            else:
                key = (job.alert_id, job.kind, subscriber.language, job.channel)
                if key not in rendered:
                    rendered[key] = self._render_sms(job, view, subscriber.language)
                message = Message(job.channel, contact, rendered[key])
            prepared.append(Prepared(job, message))
        return prepared

    def _render_sms(self, job: Job, view: AlertView, lang: str) -> str:
        if job.kind == MessageKind.retraction:
            return render_retraction_sms(view, lang)
        return render_sms(view, lang, masking=self.settings.identifier_masking)

    def _render_email(self, job: Job, view: AlertView, lang: str, url: str) -> tuple[str, str, str]:
        if job.kind == MessageKind.retraction:
            mail = render_retraction_email(view, lang, unsubscribe_url=url)
        else:
            mail = render_email(
                view, lang, masking=self.settings.identifier_masking, unsubscribe_url=url
            )
        return mail.text, mail.subject, mail.html

    def _unsubscribe_url(self, subscriber: Subscriber) -> str:
        assert subscriber.id is not None
        token = subscriptions.unsubscribe_token(self.crypto.index, subscriber.id)
        return f"{self.settings.public_url.rstrip('/')}/u/{token}"

    def _record(self, outcomes: list[Outcome], prepared: list[Prepared]) -> None:
        by_id = {p.job.delivery_id: p.job for p in prepared}
        with self.session_factory() as session:
            delivery.record(session, outcomes)
            for outcome in outcomes:
                job = by_id[outcome.delivery_id]
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
        async with self.concurrency:
            await self.pacer.wait()
            try:
                provider_id = await self.providers[job.channel].send(item.message)
            except PermanentSendError as exc:
                return Outcome(job.delivery_id, DeliveryStatus.failed.value, error_code=exc.code)
            except TransientSendError as exc:
                return self._retry_or_fail(job, exc.code)
            except SendError as exc:
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
            retry_at=now + delivery.backoff(job.attempts),
        )


def make_worker(
    settings: Settings, session_factory: SessionFactory, providers: dict[str, Provider]
) -> Worker:
    return Worker(
        session_factory=session_factory,
        settings=settings,
        crypto=Crypto.from_settings(settings),
        providers=providers,
    )
