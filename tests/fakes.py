"""Real servers on loopback for the tests and benchmarks: a fake Twilio, SMTP, and a push
service.

FakeTwilio speaks Twilio's Messages API (POST .../Accounts/{sid}/Messages.json, basic
auth) and answers 201 with an SM… sid, or what it has been told to: HTTP 429 or 500,
Twilio errors such as 21610 or 21211 for chosen numbers, or a delay. The mail server is
aiosmtpd with STARTTLS on a certificate made for the test. FakePush is a browser's push
service over https (RFC 8030), with browsers made as a browser makes them (a P-256 key pair
and an auth secret): it checks each request's VAPID token (ES256, RFC 8292) and decrypts
its aes128gcm payload (RFC 8291) with the browser's private key.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import email
import email.policy
import ipaddress
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.helpers import free_port

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-twilio-auth-token-0123456789abcdef"


@dataclass
class FakeTwilio:
    url: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    request_times: list[float] = field(default_factory=list)
    failures: deque[tuple[int, int | None]] = field(default_factory=deque)
    number_errors: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    outage: list[tuple[float, int, int | None]] = field(default_factory=list)  # until, status, code
    outage_requests: int = 0
    odd_answers: deque[tuple[int, str]] = field(default_factory=deque)  # status, raw body
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.request_times.clear()
            self.failures.clear()
            self.number_errors.clear()
            self.requests = 0
            self.delay = 0.0
            self.outage.clear()
            self.outage_requests = 0
            self.odd_answers.clear()

    def fail_next(self, times: int, status: int, code: int | None = None) -> None:
        """The next `times` requests get HTTP `status` (with Twilio error `code`)."""
        with self.lock:
            self.failures.extend([(status, code)] * times)

    def answer_next(self, status: int, body: str) -> None:
        """The next request gets exactly this: a malformed or unusual answer."""
        with self.lock:
            self.odd_answers.append((status, body))

    def fail_for(self, seconds: float, status: int, code: int | None = None) -> None:
        """From now (or the end of the outage already planned), every request for
        `seconds` gets HTTP `status`: an outage, as long as it lasts, however many ask."""
        with self.lock:
            start = self.outage[-1][0] if self.outage else time.monotonic()
            self.outage.append((max(start, time.monotonic()) + seconds, status, code))

    def _in_outage(self, now: float) -> tuple[int, int | None] | None:
        for until, status, code in self.outage:
            if now < until:
                self.outage_requests += 1
                return status, code
        return None

    def sent_to(self, number: str) -> list[dict[str, str]]:
        return [m for m in self.messages if m["to"] == number]

    async def create_message(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return _error(401, 20003, "Authenticate")
        form = await request.form()
        with self.lock:
            self.requests += 1
            self.request_times.append(time.monotonic())
            failure = self._in_outage(time.monotonic()) or (
                self.failures.popleft() if self.failures else None
            )
            delay = self.delay
            odd = self.odd_answers.popleft() if self.odd_answers else None
        if odd is not None:
            return Response(odd[1], status_code=odd[0], media_type="application/json")
        if delay:
            await asyncio.sleep(delay)
        if failure is not None:
            status, code = failure
            return _error(status, code or 20000 + status, "told to fail")  # 20429, 20500, 20503
        to = str(form.get("To", ""))
        if to in self.number_errors:
            return _error(400, self.number_errors[to], "told to refuse this number")
        sid = "SM" + uuid.uuid4().hex
        message = {
            "sid": sid,
            "to": to,
            "body": str(form.get("Body", "")),
            "from": str(form.get("From", "")),
            "messaging_service_sid": str(form.get("MessagingServiceSid", "")),
            "status_callback": str(form.get("StatusCallback", "")),
        }
        with self.lock:
            self.messages.append(message)
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "to": message["to"],
                "from": message["from"] or None,
                "body": message["body"],
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "date_created": dt.datetime.now(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            },
            status_code=201,
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    "/2010-04-01/Accounts/{account}/Messages.json",
                    self.create_message,
                    methods=["POST"],
                )
            ]
        )


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


@contextmanager
def serve(app: Any, *, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Run an ASGI app on a loopback port in a thread; yields its base URL. With `tls`
    (a certificate and its key) it speaks https."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            ssl_certfile=str(tls[0]) if tls else None,
            ssl_keyfile=str(tls[1]) if tls else None,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def fake_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    with serve(fake.app()) as url:
        fake.url = url
        yield fake


# ---- SMTP ------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    host: str
    port: int
    ca_file: Path
    messages: list[EmailMessage] = field(default_factory=list)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        self.messages.clear()


class _Collector:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.box.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


def _self_signed(directory: Path, stem: str = "smtp") -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def smtp_server(directory: Path) -> Iterator[Mailbox]:
    """aiosmtpd on loopback that insists on STARTTLS, with a certificate made for the test."""
    import ssl

    from aiosmtpd.controller import Controller

    cert_file, key_file = _self_signed(directory)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    box = Mailbox(host="127.0.0.1", port=free_port(), ca_file=cert_file)
    controller = Controller(
        _Collector(box), hostname="127.0.0.1", port=box.port, tls_context=tls, require_starttls=True
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


# ---- web push -----------------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class PushBrowser:
    """One browser's push subscription, made as a browser makes it."""

    token: str
    key: Any  # ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    def subscription(self) -> dict[str, Any]:
        from cryptography.hazmat.primitives import serialization

        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": _b64url(point), "auth": _b64url(self.auth)},
        }


@dataclass
class FakePush:
    url: str = ""
    ca_file: Path | None = None
    vapid_public_key: str = ""  # whose signature it accepts (base64url point)
    browsers: dict[str, PushBrowser] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)  # decrypted, checked
    refused: list[str] = field(default_factory=list)  # why each refused request was
    answers: dict[str, deque[int]] = field(default_factory=dict)  # by token: statuses next
    tokens_signed: set[str] = field(default_factory=set)
    # For benchmarks, whose browsers it does not know: any endpoint is taken, its VAPID
    # token checked all the same, its payload counted but not decrypted.
    accept_any: bool = False
    accepted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self, vapid_public_key: str) -> None:
        with self.lock:
            self.vapid_public_key = vapid_public_key
            self.browsers.clear()
            self.received.clear()
            self.refused.clear()
            self.answers.clear()
            self.tokens_signed.clear()

    def browser(self) -> PushBrowser:
        import os

        from cryptography.hazmat.primitives.asymmetric import ec

        token = uuid.uuid4().hex
        made = PushBrowser(
            token, ec.generate_private_key(ec.SECP256R1()), os.urandom(16), f"{self.url}/p/{token}"
        )
        self.browsers[token] = made
        return made

    def answer_next(self, browser: PushBrowser, *statuses: int) -> None:
        self.answers.setdefault(browser.token, deque()).extend(statuses)

    def to(self, browser: PushBrowser) -> list[dict[str, Any]]:
        return [m for m in self.received if m["token"] == browser.token]

    def _vapid_problem(self, authorization: str) -> str | None:
        """Why the VAPID token is not this service's, for this push service, current."""
        import json

        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        scheme, _, params = authorization.partition(" ")
        fields = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        if scheme.lower() != "vapid" or "t" not in fields or "k" not in fields:
            return "no vapid authorization"
        if fields["k"] != self.vapid_public_key:
            return "not the service's key"
        head, claims, signature = fields["t"].split(".")
        if fields["t"] in self.tokens_signed:
            # Verified before (as a push service keeps a token it has checked): only its time.
            expires = json.loads(_unb64url(claims)).get("exp", 0)
            return None if time.time() < expires else "expired"
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64url(fields["k"]))
        raw = _unb64url(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return "bad signature"
        if json.loads(_unb64url(head)).get("alg") != "ES256":
            return "not ES256"
        said = json.loads(_unb64url(claims))
        if said.get("aud") != self.url:
            return "wrong audience"
        if not time.time() < said.get("exp", 0) <= time.time() + 24 * 3600:
            return "expired, or longer than 24 hours"
        if not str(said.get("sub", "")).startswith(("mailto:", "https://")):
            return "no subject"
        self.tokens_signed.add(fields["t"])
        return None

    async def push(self, request: Request) -> Response:
        import json

        import http_ece

        token = request.path_params["token"]
        body = await request.body()
        with self.lock:
            browser = self.browsers.get(token)
            problem = self._vapid_problem(request.headers.get("authorization", ""))
            # RFC 8292: 403 for a key other than the one the browser subscribed with, 401
            # for a token that does not hold; RFC 8030: 400 for a request it cannot take.
            status = 403 if problem == "not the service's key" else 401
            if problem is None and request.headers.get("content-encoding") != "aes128gcm":
                problem, status = "not aes128gcm", 400
            if problem is None and not request.headers.get("ttl", "").isdigit():
                problem, status = "no TTL", 400
            if problem is not None:
                self.refused.append(problem)
                return Response(problem, status_code=status)
            if browser is None and self.accept_any and body:
                self.accepted += 1
                return Response(status_code=201)
            if browser is None:
                return Response(status_code=404)
            queued = self.answers.get(token)
            if queued:
                return Response(status_code=queued.popleft())
            plain = http_ece.decrypt(
                body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"
            )
            self.received.append(
                {
                    "token": token,
                    "urgency": request.headers.get("urgency"),
                    **json.loads(plain),
                }
            )
        return Response(status_code=201, headers={"Location": f"{self.url}/m/{uuid.uuid4().hex}"})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/p/{token}", self.push, methods=["POST"])])


@contextmanager
def fake_push(directory: Path) -> Iterator[FakePush]:
    """The push service on https://127.0.0.1:<port>, with a certificate made for the test
    (the worker trusts it through REDFLAG_PUSH_CA_FILE, as a deployment would a private CA)."""
    fake = FakePush()
    cert_file, key_file = _self_signed(directory, "push")
    with serve(fake.app(), tls=(cert_file, key_file)) as url:
        fake.url, fake.ca_file = url, cert_file
        yield fake


class TcpGate:
    """A loopback port in front of a real server (PostgreSQL, say) that can be shut: shut,
    it refuses new connections and cuts the open ones, as a server that is down does."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        import socket

        self.target = (target_host, target_port)
        self.port = free_port()
        self._socket = socket
        self._listener: Any = None
        self._pairs: list[tuple[Any, Any]] = []
        self._lock = threading.Lock()
        self.open()

    def open(self) -> None:
        listener = self._socket.socket()
        listener.setsockopt(self._socket.SOL_SOCKET, self._socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def shut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(self._socket.SHUT_RDWR)  # wakes the accept() under way
            listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for end in pair:
                with contextlib.suppress(OSError):
                    end.shutdown(self._socket.SHUT_RDWR)
                end.close()

    def _accept(self, listener: Any) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # shut
            try:
                server = self._socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: Any, sink: Any) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(1)


class _Counter:
    """Takes every message and keeps only how many came (a benchmark's mail server)."""

    received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.received += 1
        return "250 OK"


def _count_mail(port: int) -> None:
    import signal
    import threading

    from aiosmtpd.controller import Controller

    controller = Controller(_Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()


def main() -> None:
    """`python -m tests.fakes --port N`: the fake Twilio in a process of its own (benchmarks);
    with --push-tls CERT KEY and --vapid-public-key, the fake push service instead, on https,
    taking any endpoint whose VAPID token holds; with --smtp, a plain mail server."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--push-tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--vapid-public-key", default="")
    parser.add_argument("--smtp", action="store_true", help="a mail server (aiosmtpd), plain")
    args = parser.parse_args()
    if args.smtp:
        _count_mail(args.port)
        return
    if args.push_tls:
        push = FakePush(
            url=f"https://127.0.0.1:{args.port}",
            vapid_public_key=args.vapid_public_key,
            accept_any=True,
        )
        uvicorn.run(
            push.app(),
            host="127.0.0.1",
            port=args.port,
            log_level="warning",
            access_log=False,
            ssl_certfile=args.push_tls[0],
            ssl_keyfile=args.push_tls[1],
        )
        return
    fake = FakeTwilio()
    uvicorn.run(fake.app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
