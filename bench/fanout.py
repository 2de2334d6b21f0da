"""Fan-out benchmark: one alert to N subscribers, through the worker, by SMS, email and
web push, to a fake Twilio, a mail server and a fake push service.

    .venv/bin/python -m bench.fanout                 # SQLite and PostgreSQL, 10,000 subscribers
    .venv/bin/python -m bench.fanout --n 2000 --databases sqlite --push 0 --email 0

For each database: N confirmed subscribers in Assen, a share of them by email (--email,
default a fifth) and by web push (--push, default a fifth), the rest by SMS; the alert is
published (matching plus one outbox row each, in one transaction: "publish"); the worker
sends every message to the fake Twilio server, the mail server (aiosmtpd) or the fake push
service (https, checking each VAPID token), each in a process of its own; "publish → last
accepted" runs until the last message is accepted and its outcome recorded, and the
worker's rate is N over that whole time. In the same run, the ceiling: bare async clients
(aiohttp, aiosmtplib) sending the same N messages (same fields, same texts) to the same
servers at the same concurrency, doing only what each message needs on the way: a form
encoded, an email put together, a push payload encrypted for its browser's keys (RFC
8291: a fresh key for every message, so no sender can do it beforehand), under one VAPID
token. It runs just before and just after the worker, and the faster of the two counts.
Both run on uvloop, as `redflag worker` does. Targets: worker/ceiling ≥ 0.5, publish ≤ 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import socket
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

import aiosmtplib
import httpx
import uvloop
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPusher
from sqlmodel import Session, col, func, select

from alerts import service as alerts_service
from alerts.delivery.compose import push_body
from alerts.delivery.providers import Message, SmtpEmail, WebPush, build, close_all
from alerts.delivery.worker import make_worker
from alerts.models import PURPOSE_CONTACT, Alert, Delivery, Subscriber
from alerts.render import render_email, render_sms
from alerts.subscriptions import service as subscriptions
from app import vapid
from app.crypto import Crypto
from app.db import make_engine, make_session_factory
from app.i18n import Translator
from app.settings import Settings, new_jwt_secret, new_key
from bench.common import add_postgres_option, fresh_database
from tests.fakes import ACCOUNT_SID, AUTH_TOKEN, PushBrowser, _self_signed
from tests.helpers import (
    add_sms_subscribers,
    free_port,
    publish_alert,
)

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass
class Result:
    database: str
    n: int
    n_email: int  # of them by email
    n_push: int  # ... by web push, the rest by SMS
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


def start_mail_server() -> tuple[Any, int]:
    """A plain aiosmtpd that counts what it takes, in a process of its own."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes", "--port", str(port), "--smtp"], cwd=ROOT
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the mail server did not start")


def settings_for(
    url: str, twilio_url: str, concurrency: int, push: Push, smtp_port: int
) -> Settings:
    return Settings(
        database_url=url,
        data_key=new_key(),
        index_key=new_key(),
        jwt_secret=new_jwt_secret(),
        public_url="https://redflag.example.org",
        sms_provider="twilio",
        email_provider="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls=False,  # loopback; TLS is the mail server's cost as much as ours
        smtp_from="Waarschuwing <alerts@redflag.example.org>",
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
    browsers = [
        PushBrowser(
            f"b{i}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16), f"{push_url}/p/b{i}"
        )
        for i in range(n)
    ]
    contacts = [(json.dumps(b.subscription(), separators=(",", ":")), b.endpoint) for b in browsers]
    add_sms_subscribers(session, crypto, n, channel="push", contacts=contacts)


@dataclass(frozen=True)
class Sms:
    url: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Mail:
    message: Message


@dataclass(frozen=True)
class Notification:
    subscription: dict[str, Any]
    payload: bytes
    headers: dict[str, str]


Request = Sms | Mail | Notification


async def ceiling(requests: list[Request], concurrency: int, settings: Settings) -> float:
    """The bare minimum: the same messages at the same concurrency, with the fastest
    clients here (aiohttp, aiosmtplib), doing only what each needs on the way: a form
    encoded, an email put together, a push payload encrypted for its browser."""
    import aiohttp

    queue = list(reversed(requests))
    assert settings.push_ca_file is not None
    tls = ssl.create_default_context(cafile=str(settings.push_ca_file))
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=tls)
    mailer = SmtpEmail(settings)  # how the worker puts an email together, nothing more
    async with aiohttp.ClientSession(connector=connector) as client:

        async def post(url: str, data: bytes, headers: dict[str, str]) -> None:
            async with client.post(url, data=data, headers=headers) as response:
                await response.read()
                assert response.status == 201

        async def sender() -> None:
            while queue:
                request = queue.pop()
                if isinstance(request, Sms):
                    await post(request.url, urlencode(request.form).encode(), request.headers)
                elif isinstance(request, Notification):
                    body = WebPusher(request.subscription).encode(request.payload, "aes128gcm")
                    await post(request.subscription["endpoint"], body["body"], request.headers)
                else:
                    mail = mailer.mail(request.message)
                    await aiosmtplib.send(
                        mail, hostname=settings.smtp_host, port=settings.smtp_port, start_tls=False
                    )

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return time.perf_counter() - started


def cpu_timed(coroutine: Coroutine[Any, Any, T]) -> tuple[T, float]:
    """Run on uvloop; the result, and the CPU seconds this process spent on it."""
    cpu = time.process_time()
    result = uvloop.run(coroutine)
    return result, time.process_time() - cpu


def same_requests(
    session: Session, crypto: Crypto, settings: Settings, alert: Alert, twilio_url: str
) -> list[Request]:
    """What the worker sends, message by message, for the ceiling to send too: the SMS
    forms, the emails with each one's unsubscribe link, the push payloads."""
    view = alerts_service.view(session, alert=alert, cipher=crypto.cipher)
    masking = settings.identifier_masking
    callback = f"{settings.public_url}/webhooks/twilio/status"
    url = f"{twilio_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    headers = {
        "Authorization": "Basic "
        + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    pusher = WebPush(settings)
    requests: list[Request] = []
    for subscriber in session.exec(select(Subscriber).order_by(col(Subscriber.id))):
        contact = crypto.cipher.decrypt(subscriber.contact_enc, purpose=PURPOSE_CONTACT)
        lang = subscriber.language
        if subscriber.channel == "sms":
            form = {
                "To": contact,
                "Body": render_sms(view, lang, masking=masking),
                "From": settings.twilio_from or "",
                "StatusCallback": callback,
            }
            requests.append(Sms(url, form, headers))
        elif subscriber.channel == "email":
            assert subscriber.id is not None
            token = subscriptions.unsubscribe_token(crypto.index, subscriber.id)
            link = f"{settings.public_url}/u/{token}"
            mail = render_email(view, lang, masking=masking, unsubscribe_url=link)
            one_click = {
                "List-Unsubscribe": f"<{link}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
            message = Message("email", contact, mail.text, mail.subject, mail.html, one_click)
            requests.append(Mail(message))
        else:
            subscription = json.loads(contact)
            t = Translator(lang)
            sms = render_sms(view, lang, masking=masking)
            payload = json.dumps(
                {"title": t("push.title.alert"), "body": push_body(sms, t, ref=view.ref)},
                ensure_ascii=False,
            ).encode()
            push_headers = {
                "Authorization": pusher.authorization(subscription["endpoint"]),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(settings.push_ttl_seconds),
                "Urgency": "high",
            }
            requests.append(Notification(subscription, payload, push_headers))
    return requests


def run_one(
    kind: str,
    n: int,
    concurrency: int,
    postgres_url: str,
    twilio_url: str,
    push: Push,
    smtp_port: int,
    push_share: float,
    email_share: float,
) -> Result:
    url, cleanup = fresh_database(kind, postgres_url)
    settings = settings_for(url, twilio_url, concurrency, push, smtp_port)
    crypto = Crypto.from_settings(settings)
    engine = make_engine(url, pool_size=10) if kind == "postgres" else make_engine(url)
    n_push = round(n * push_share)
    n_email = round(n * email_share)
    try:
        with Session(engine) as session:
            add_sms_subscribers(session, crypto, n - n_push - n_email)
            add_sms_subscribers(session, crypto, n_email, channel="email")
            add_push_subscribers(session, crypto, n_push, push.url)

        started = time.perf_counter()
        with Session(engine) as session:
            alert = publish_alert(
                session, crypto, text="Grabbed a worker by the throat and took the money back."
            )
        publish_s = time.perf_counter() - started
        with Session(engine) as session:
            alert = session.merge(alert)
            requests = same_requests(session, crypto, settings, alert, twilio_url)
        before = cpu_timed(ceiling(requests, concurrency, settings))
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
        after = cpu_timed(ceiling(requests, concurrency, settings))
        (ceiling_s, ceiling_cpu_s) = min(before, after)
        return Result(
            kind, n, n_email, n_push, concurrency, publish_s, worker_s, ceiling_s, worker_cpu_s,
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
        "--push", type=float, default=0.2, help="the share of subscribers by push (default 0.2)"
    )
    parser.add_argument(
        "--email", type=float, default=0.2, help="the share of subscribers by email (default 0.2)"
    )
    add_postgres_option(parser)
    args = parser.parse_args()
    if args.push + args.email > 1:
        parser.error("--push and --email are shares of the subscribers: together at most 1")

    fake, twilio_url = start_fake()
    fake_push, push = start_fake_push()
    mail_server, smtp_port = start_mail_server()
    try:
        results = [
            run_one(
                kind.strip(),
                args.n,
                args.concurrency,
                args.postgres_url,
                twilio_url,
                push,
                smtp_port,
                args.push,
                args.email,
            )
            for kind in args.databases.split(",")
        ]
    finally:
        for process in (fake, fake_push, mail_server):
            process.terminate()
            process.wait(timeout=10)

    n_push = results[0].n_push if results else 0
    n_email = results[0].n_email if results else 0
    print(f"\nfan-out: {args.n} subscribers ({args.n - n_push - n_email} SMS, {n_email} email, "
          f"{n_push} push), concurrency {args.concurrency}, {platform.machine()}, "
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
