"""Fan-out benchmark: one alert to N subscribers, through the worker, to a fake Twilio.

    .venv/bin/python -m bench.fanout                 # SQLite and PostgreSQL, 10,000 subscribers
    .venv/bin/python -m bench.fanout --n 2000 --databases sqlite

For each database: N confirmed SMS subscribers in Assen; the alert is published
(matching plus one outbox row each, in one transaction: "publish"); the worker sends
every message to the fake Twilio server, which runs in a process of its own; "publish
→ last accepted" runs until the last message is accepted and its outcome recorded, and
the worker's rate is N over that whole time. In the same run, the ceiling: a bare async
HTTP client (aiohttp) sending the same N requests (same fields, same texts) to the same
server at the same concurrency, doing nothing else; it runs just before and just after
the worker, and the faster of the two counts. Both run on uvloop, as `redflag worker`
does. Targets: worker/ceiling ≥ 0.5, publish ≤ 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import subprocess
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import uvloop
from sqlmodel import Session, func, select

from alerts import service as alerts_service
from alerts.delivery.providers import build, close_all
from alerts.delivery.worker import make_worker
from alerts.models import (
    Alert,
    Delivery,
)
from alerts.render import render_sms
from app.crypto import Crypto
from app.db import make_engine, make_session_factory
from app.settings import Settings, new_jwt_secret, new_key
from bench.common import add_postgres_option, fresh_database
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN
from tests.helpers import (
    LANGUAGES,
    add_sms_subscribers,
    free_port,
    publish_alert,
    subscriber_number,
)

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass
class Result:
    database: str
    n: int
    concurrency: int
    publish_s: float
    worker_s: float
    ceiling_s: float
    worker_cpu_s: float  # this process's CPU time: the worker, its database thread included
    ceiling_cpu_s: float  # ... and the bare client's (the fake server runs elsewhere)

    @property
    def worker_rate(self) -> float:
        return self.n / self.worker_s

    @property
    def ceiling_rate(self) -> float:
        return self.n / self.ceiling_s

    @property
    def ratio(self) -> float:
        return self.worker_rate / self.ceiling_rate


def start_fake_twilio() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes", "--port", str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url, timeout=0.5)
            return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the fake Twilio server did not start")


def settings_for(url: str, twilio_url: str, concurrency: int) -> Settings:
    return Settings(
        database_url=url,
        data_key=new_key(),
        index_key=new_key(),
        jwt_secret=new_jwt_secret(),
        public_url="https://redflag.example.org",
        sms_provider="twilio",
        email_provider="none",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from="+3197010000001",
        twilio_api_base=twilio_url,
        worker_concurrency=concurrency,
        worker_batch=max(200, concurrency * 4),
        worker_rate=0,  # no pacing: measure how fast it can go
    )


async def ceiling(twilio_url: str, bodies: list[dict[str, str]], concurrency: int) -> float:
    """The bare minimum: the same form POSTs at the same concurrency, with the fastest
    client here (aiohttp), reading each answer and doing nothing else."""
    import aiohttp

    url = f"{twilio_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    headers = {
        "Authorization": "Basic "
        + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    queue = list(reversed(bodies))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as client:

        async def sender() -> None:
            while queue:
                data = urlencode(queue.pop()).encode()
                async with client.post(url, data=data, headers=headers) as response:
                    await response.read()
                    assert response.status == 201

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return time.perf_counter() - started


def cpu_timed(coroutine: Coroutine[Any, Any, T]) -> tuple[T, float]:
    """Run on uvloop; the result, and the CPU seconds this process spent on it."""
    cpu = time.process_time()
    result = uvloop.run(coroutine)
    return result, time.process_time() - cpu


def same_requests(
    session: Session, crypto: Crypto, settings: Settings, alert: Alert, n: int
) -> list[dict[str, str]]:
    """What the worker sends, request by request, for the ceiling to send too."""
    view = alerts_service.view(session, alert=alert, cipher=crypto.cipher)
    texts = [render_sms(view, lang, masking=settings.identifier_masking) for lang in LANGUAGES]
    callback = f"{settings.public_url}/webhooks/twilio/status"
    return [
        {
            "To": subscriber_number(i),
            "Body": texts[i % len(texts)],
            "From": settings.twilio_from or "",
            "StatusCallback": callback,
        }
        for i in range(n)
    ]


def run_one(kind: str, n: int, concurrency: int, postgres_url: str, twilio_url: str) -> Result:
    url, cleanup = fresh_database(kind, postgres_url)
    settings = settings_for(url, twilio_url, concurrency)
    crypto = Crypto.from_settings(settings)
    engine = make_engine(url, pool_size=10) if kind == "postgres" else make_engine(url)
    try:
        with Session(engine) as session:
            add_sms_subscribers(session, crypto, n)

        started = time.perf_counter()
        with Session(engine) as session:
            alert = publish_alert(
                session, crypto, text="Grabbed a worker by the throat and took the money back."
            )
        publish_s = time.perf_counter() - started
        with Session(engine) as session:
            alert = session.merge(alert)
            bodies = same_requests(session, crypto, settings, alert, n)
        before = cpu_timed(ceiling(twilio_url, bodies, concurrency))
        started = time.perf_counter() - publish_s  # the clock runs from the publish

        async def deliver() -> None:
            providers = build(settings)
            try:
                await make_worker(settings, make_session_factory(engine), providers).drain()
            finally:
                await close_all(providers)

        _, worker_cpu_s = cpu_timed(deliver())
        worker_s = time.perf_counter() - started
        with Session(engine) as session:
            sent = session.exec(
                select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
            ).one()
        if sent != n:
            with Session(engine) as session:
                rows = session.exec(
                    select(Delivery.status, Delivery.error_code, func.count()).group_by(
                        Delivery.status, Delivery.error_code
                    )
                ).all()
            raise SystemExit(f"{kind}: only {sent} of {n} messages were sent: {rows}")
        after = cpu_timed(ceiling(twilio_url, bodies, concurrency))
        (ceiling_s, ceiling_cpu_s) = min(before, after)
        return Result(
            kind, n, concurrency, publish_s, worker_s, ceiling_s, worker_cpu_s, ceiling_cpu_s
        )
    finally:
        engine.dispose()
        if callable(cleanup):
            cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="subscribers (default 10,000)")
    parser.add_argument("--concurrency", type=int, default=50, help="sends in flight (default 50)")
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite, postgres, or both")
    add_postgres_option(parser)
    args = parser.parse_args()

    fake, twilio_url = start_fake_twilio()
    try:
        results = [
            run_one(kind.strip(), args.n, args.concurrency, args.postgres_url, twilio_url)
            for kind in args.databases.split(",")
        ]
    finally:
        fake.terminate()
        fake.wait(timeout=10)

    print(f"\nfan-out: {args.n} subscribers, concurrency {args.concurrency}, {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}\n")  # fmt: skip
    print(
        "| database | publish (s) | publish → last accepted (s) | worker msg/s"
        " | ceiling msg/s | worker / ceiling | worker CPU µs/msg | ceiling CPU µs/msg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.database} | {r.publish_s:.2f} | {r.worker_s:.2f} | {r.worker_rate:.0f} | "
            f"{r.ceiling_rate:.0f} | {r.ratio:.2f} | {r.worker_cpu_s / r.n * 1e6:.0f} | "
            f"{r.ceiling_cpu_s / r.n * 1e6:.0f} |"
        )
    failed = [r for r in results if r.ratio < 0.5 or r.publish_s > 2.0]
    print("\ntargets: worker/ceiling ≥ 0.5 and publish ≤ 2 s:", "met" if not failed else "NOT met")


if __name__ == "__main__":
    main()
