"""Fan-out benchmark: one alert to N subscribers, through the worker, to a fake Twilio and
a fake push service.

    .venv/bin/python -m bench.fanout                 # SQLite and PostgreSQL, 10,000 subscribers
    .venv/bin/python -m bench.fanout --n 2000 --databases sqlite --push 0

For each database: N confirmed subscribers in Assen, a share of them (--push, default a
quarter) by web push and the rest by SMS; the alert is published
(matching plus one outbox row each, in one transaction: "publish"); the worker sends
every message to the fake Twilio server or the fake push service (https, checking each
VAPID token), each in a process of its own; "publish → last accepted" runs until the last
message is accepted and its outcome recorded, and the worker's rate is N over that whole
time. In the same run, the ceiling: a bare async HTTP client (aiohttp) sending the same N
requests (same fields, same texts; the push payloads encrypted beforehand, one VAPID
token) to the same servers at the same concurrency, doing nothing else; it runs just
before and just after
the worker, and the faster of the two counts. Both run on uvloop, as `redflag worker`
does. Targets: worker/ceiling ≥ 0.5, publish ≤ 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import uvloop
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPusher
from sqlmodel import Session, func, select

from alerts import service as alerts_service
from alerts.delivery.compose import push_body
from alerts.delivery.providers import WebPush, build, close_all
from alerts.delivery.worker import make_worker
from alerts.models import PURPOSE_CONTACT, Alert, Delivery, Subscriber
from alerts.render import render_sms
from app import vapid
from app.crypto import Crypto
from app.db import make_engine, make_session_factory
from app.i18n import Translator
from app.settings import Settings, new_jwt_secret, new_key
from bench.common import add_postgres_option, fresh_database
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, PushBrowser, _self_signed
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
    n_push: int  # of them by web push, the rest by SMS
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


def start_fake(*extra: str, scheme: str = "http", verify: Any = True) -> tuple[Any, str]:
    """The fake Twilio (or, with --push-tls, the fake push service) in a process of its own."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes", "--port", str(port), *extra], cwd=ROOT
    )
    url = f"{scheme}://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url, timeout=0.5, verify=verify)
            return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"the fake server {' '.join(extra)} did not start")


@dataclass(frozen=True)
class Push:
    """The fake push service and what the worker needs to send to it."""

    url: str
    ca_file: Path
    vapid_private: str
    vapid_public: str


def start_fake_push() -> tuple[Any, Push]:
    directory = Path(tempfile.mkdtemp(prefix="redflag-bench-push-"))
    cert_file, key_file = _self_signed(directory, "push")
    private, public = vapid.new_keys()
    process, url = start_fake(
        "--push-tls", str(cert_file), str(key_file), "--vapid-public-key", public,
        scheme="https", verify=str(cert_file),
    )  # fmt: skip
    return process, Push(url, cert_file, private, public)


def settings_for(url: str, twilio_url: str, concurrency: int, push: Push) -> Settings:
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
        vapid_private_key=push.vapid_private,
        vapid_public_key=push.vapid_public,
        vapid_subject="mailto:ops@example.org",
        push_hosts="127.0.0.1",
        push_ca_file=push.ca_file,
    )


def add_push_subscribers(session: Session, crypto: Crypto, n: int, push_url: str) -> None:
    """n verified push subscribers in Assen, each with a browser's own keys; commits."""
    if n == 0:
        return
    from sqlalchemy import insert

    from alerts.models import PURPOSE_CONTACT, Subscriber, SubscriberRegion
    from alerts.subscriptions import service as subscriptions
    from app.db import utcnow

    now = utcnow()
    rows = []
    for i in range(n):
        browser = PushBrowser(
            f"b{i}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16), f"{push_url}/p/b{i}"
        )
        subscription = browser.subscription()
        rows.append(
            {
                "channel": "push",
                "contact_enc": crypto.cipher.encrypt(
                    json.dumps(subscription, separators=(",", ":")), purpose=PURPOSE_CONTACT
                ),
                "contact_index": subscriptions.contact_index(
                    crypto.index, "push", subscription["endpoint"]
                ),
                "language": LANGUAGES[i % len(LANGUAGES)],
                "min_severity_rank": 0,
                "created_at": now,
                "confirmed_at": now,
                "membership": "verified",
            }
        )
    ids = session.execute(insert(Subscriber).returning(Subscriber.id), rows).scalars().all()
    session.execute(
        insert(SubscriberRegion), [{"subscriber_id": i, "region_code": "GM0106"} for i in ids]
    )
    session.commit()


Request = tuple[str, dict[str, str] | bytes, dict[str, str]]  # url, form or body, headers


async def ceiling(requests: list[Request], concurrency: int, push: Push) -> float:
    """The bare minimum: the same POSTs at the same concurrency, with the fastest client
    here (aiohttp), reading each answer and doing nothing else (a form is encoded as it
    goes, as before; a push body is ready)."""
    import aiohttp

    queue = list(reversed(requests))
    tls = ssl.create_default_context(cafile=str(push.ca_file))
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=tls)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def sender() -> None:
            while queue:
                url, body, headers = queue.pop()
                data = urlencode(body).encode() if isinstance(body, dict) else body
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
    session: Session,
    crypto: Crypto,
    settings: Settings,
    alert: Alert,
    twilio_url: str,
    n_sms: int,
) -> list[Request]:
    """What the worker sends, request by request, for the ceiling to send too: the SMS
    forms, and the push payloads encrypted for each browser's keys (here, beforehand)."""
    view = alerts_service.view(session, alert=alert, cipher=crypto.cipher)
    texts = [render_sms(view, lang, masking=settings.identifier_masking) for lang in LANGUAGES]
    callback = f"{settings.public_url}/webhooks/twilio/status"
    url = f"{twilio_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    headers = {
        "Authorization": "Basic "
        + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    requests: list[Request] = [
        (
            url,
            {
                "To": subscriber_number(i),
                "Body": texts[i % len(texts)],
                "From": settings.twilio_from or "",
                "StatusCallback": callback,
            },
            headers,
        )
        for i in range(n_sms)
    ]
    sender = WebPush(settings)
    for subscriber in session.exec(select(Subscriber).where(Subscriber.channel == "push")):
        subscription = json.loads(
            crypto.cipher.decrypt(subscriber.contact_enc, purpose=PURPOSE_CONTACT)
        )
        t = Translator(subscriber.language)
        sms = render_sms(view, subscriber.language, masking=settings.identifier_masking)
        payload = json.dumps(
            {"title": t("push.title.alert"), "body": push_body(sms, t, ref=view.ref)},
            ensure_ascii=False,
        ).encode()
        endpoint = subscription["endpoint"]
        push_headers = {
            "Authorization": sender.authorization(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(settings.push_ttl_seconds),
            "Urgency": "high",
        }
        body = WebPusher(subscription).encode(payload, "aes128gcm")["body"]
        requests.append((endpoint, body, push_headers))
    return requests


def run_one(
    kind: str,
    n: int,
    concurrency: int,
    postgres_url: str,
    twilio_url: str,
    push: Push,
    push_share: float,
) -> Result:
    url, cleanup = fresh_database(kind, postgres_url)
    settings = settings_for(url, twilio_url, concurrency, push)
    crypto = Crypto.from_settings(settings)
    engine = make_engine(url, pool_size=10) if kind == "postgres" else make_engine(url)
    n_push = round(n * push_share)
    try:
        with Session(engine) as session:
            if n > n_push:
                add_sms_subscribers(session, crypto, n - n_push)
            add_push_subscribers(session, crypto, n_push, push.url)

        started = time.perf_counter()
        with Session(engine) as session:
            alert = publish_alert(
                session, crypto, text="Grabbed a worker by the throat and took the money back."
            )
        publish_s = time.perf_counter() - started
        with Session(engine) as session:
            alert = session.merge(alert)
            requests = same_requests(session, crypto, settings, alert, twilio_url, n - n_push)
        before = cpu_timed(ceiling(requests, concurrency, push))
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
        after = cpu_timed(ceiling(requests, concurrency, push))
        (ceiling_s, ceiling_cpu_s) = min(before, after)
        return Result(
            kind, n, n_push, concurrency, publish_s, worker_s, ceiling_s, worker_cpu_s,
            ceiling_cpu_s,
        )  # fmt: skip
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
    parser.add_argument(
        "--push", type=float, default=0.25, help="the share of subscribers by push (default 0.25)"
    )
    add_postgres_option(parser)
    args = parser.parse_args()

    fake, twilio_url = start_fake()
    fake_push, push = start_fake_push()
    try:
        results = [
            run_one(
                kind.strip(),
                args.n,
                args.concurrency,
                args.postgres_url,
                twilio_url,
                push,
                args.push,
            )
            for kind in args.databases.split(",")
        ]
    finally:
        for process in (fake, fake_push):
            process.terminate()
            process.wait(timeout=10)

    n_push = results[0].n_push if results else 0
    print(f"\nfan-out: {args.n} subscribers ({args.n - n_push} SMS, {n_push} push), "
          f"concurrency {args.concurrency}, {platform.machine()}, "
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
