"""Sending, behind one small interface: Twilio SMS, SMTP email, web push, and a console
stand-in.

A provider sends one message and returns the provider's id for it, or raises:
TransientSendError (a timeout, a 5xx, a 429: try again later) or PermanentSendError
(an invalid number, an opted-out recipient: do not try again). Nothing here logs a
recipient or a message.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import itertools
import json
import logging
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import quote_plus, urlsplit

import aiohttp
import aiosmtplib
from py_vapid import Vapid
from pywebpush import WebPusher
from twilio.base.version import Version
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from alerts.render import mask
from app.settings import Settings

# Twilio's error codes for "too many, too fast" (https://www.twilio.com/docs/api/errors);
# what the other codes say about a number is alerts/delivery/verdict.py's.
RATE_LIMITED = {"20429", "20003"}


class SendError(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code} {detail}".strip())
        self.code = code


class TransientSendError(SendError):
    pass


class PermanentSendError(SendError):
    pass


@dataclass(frozen=True)
class Message:
    channel: str
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Provider(Protocol):
    channel: str

    async def send(self, message: Message) -> str: ...

    async def close(self) -> None: ...


# ---- Twilio -------------------------------------------------------------------------------------
#
# The ordinary way, twilio's own AsyncTwilioHttpClient and `client.messages.create_async`,
# was measured against the way below with `python -m bench.fanout` (10,000 messages, 50 in
# flight; 2026-11-30, x86_64, 2 shared cores; worker / ceiling, and the worker's CPU per
# message). It misses the target of 0.5 on both databases, and so does each half of it:
#
# | Twilio call                                   | SQLite    | PostgreSQL | CPU µs/msg |
# |-----------------------------------------------|-----------|------------|------------|
# | AsyncTwilioHttpClient, messages.create_async  | 0.40-0.41 | 0.37       | 191-202    |
# | AsyncTwilioHttpClient, Client.request_async   | 0.48-0.49 | 0.40-0.43  | 164-175    |
# | TwilioTransport, messages.create_async        | 0.54-0.56 | 0.44-0.47  | 133-152    |
# | TwilioTransport, Client.request_async (this)  | 0.57-0.60 | 0.49-0.53  | 119-141    |
#
# twilio's client logs each request and answer (formatting every header whatever the log
# level), hands the form to aiohttp as a dict (a FormData each time) and authenticates
# through aiohttp's deprecated BasicAuth (a warning each time); its Messages resource turns
# every answer into a MessageInstance (three dates parsed, two dozen fields) when only the
# sid is wanted.


class TwilioSms:
    """Messages go out through the official twilio client (its API's address, credentials,
    headers, host and error parsing), posted to its Messages URL over TwilioTransport."""

    channel = "sms"

    def __init__(self, settings: Settings) -> None:
        assert settings.twilio_account_sid is not None
        assert settings.twilio_auth_token is not None
        self._settings = settings
        self._client: Client | None = None
        self._http: TwilioTransport | None = None
        self._url = ""  # the Messages resource, on the API's address
        self._fields: dict[str, str] = {
            "StatusCallback": f"{settings.public_url.rstrip('/')}/webhooks/twilio/status",
            **(
                {"MessagingServiceSid": settings.twilio_messaging_service_sid}
                if settings.twilio_messaging_service_sid
                else {"From": settings.twilio_from or ""}
            ),
        }

    def _connect(self) -> Client:
        """Made on first use, inside the event loop that will use it (aiohttp insists)."""
        if self._client is None:
            s = self._settings
            assert s.twilio_account_sid is not None
            assert s.twilio_auth_token is not None
            self._http = TwilioTransport(timeout=10, connections=s.worker_concurrency)
            client = Client(
                s.twilio_account_sid, s.twilio_auth_token.get_secret_value(), http_client=self._http
            )
            client.api.base_url = s.twilio_api_base  # a test server, or a compatible gateway
            self._url = client.api.v2010.absolute_url(
                f"/Accounts/{s.twilio_account_sid}/Messages.json"
            )
            self._client = client
        return self._client

    async def send(self, message: Message) -> str:
        client = self._connect()
        try:
            response = await client.request_async(
                "POST", self._url, data={"To": message.to, "Body": message.text, **self._fields}
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientSendError("network", type(exc).__name__) from None
        if not 200 <= response.status_code < 300:
            error = Version.exception("POST", self._url, response, "Unable to create record")
            raise _classify(response.status_code, error.code) from None
        try:
            sid = json.loads(response.text)["sid"]
        except (ValueError, KeyError, TypeError):
            # Accepted, or not? Sent again later: a second copy is better than none.
            raise TransientSendError("answer", f"HTTP {response.status_code}") from None
        return str(sid)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = self._client = None


class TwilioTransport(AsyncHttpClient):
    """The twilio client's HTTP layer, on one aiohttp session: the form goes as ready bytes,
    with no retries of its own (the outbox retries, with backoff) and no request log (a
    request holds a recipient's number)."""

    def __init__(self, *, timeout: float, connections: int) -> None:
        super().__init__(logger=logging.getLogger("redflag.twilio"), is_async=True, timeout=timeout)
        self._connections = max(connections, 1)
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections)
            )
        headers = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        async with self._session.request(
            method,
            url,
            params={k: str(v) for k, v in params.items()} if params else None,
            data=_form(data).encode() if data else None,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as response:
            return Response(response.status, await response.text(), response.headers)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _form(data: dict[str, object]) -> str:
    """The form body. A fan-out sends one text to thousands: the encoding of each field but
    the recipient's number is kept. (Encoding every field afresh, as urlencode does, costs
    12-15 µs more CPU a message, and the fan-out on PostgreSQL 0.44-0.49 of its ceiling
    instead of 0.48-0.52, measured 2026-11-30.)"""
    pairs = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if key == "To":
                pairs.append(f"To={quote_plus(str(item))}")
            else:
                pairs.append(_form_pair(key, str(item)))
    return "&".join(pairs)


@functools.lru_cache(maxsize=256)
def _form_pair(key: str, value: str) -> str:
    return f"{quote_plus(key)}={quote_plus(value)}"


def _classify(status: int, code: object) -> SendError:
    """Twilio's answer to a message it did not take: try again later, or never."""
    reason = str(code or status)
    if status == 429 or reason in RATE_LIMITED or status >= 500:
        return TransientSendError(reason, f"HTTP {status}")
    return PermanentSendError(reason, f"HTTP {status}")


# ---- SMTP ----------------------------------------------------------------------------------------


class SmtpEmail:
    channel = "email"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._tls: ssl.SSLContext | None = None
        if settings.smtp_starttls:
            self._tls = ssl.create_default_context(
                cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
            )
        self._domain = email.utils.parseaddr(settings.smtp_from)[1].partition("@")[2] or "localhost"

    def mail(self, message: Message) -> EmailMessage:
        """The message as it goes to the mail server, with a fresh Message-ID."""
        s = self._settings
        mail = EmailMessage()
        name, address = email.utils.parseaddr(s.smtp_from)
        mail["From"] = email.utils.formataddr((name or s.site_name, address))
        mail["To"] = message.to
        mail["Subject"] = message.subject or s.site_name
        mail["Date"] = email.utils.formatdate(localtime=False)
        mail["Message-ID"] = email.utils.make_msgid(domain=self._domain)
        for name, value in message.headers.items():
            mail[name] = value
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    async def send(self, message: Message) -> str:
        s = self._settings
        mail = self.mail(message)
        message_id = str(mail["Message-ID"])
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                start_tls=s.smtp_starttls,
                tls_context=self._tls,
                timeout=15,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # Only a refused recipient is final. Anything else, 530 (TLS needed) or 535 (wrong
            # password) included, is more likely our configuration: retried until fixed.
            codes = [str(response.code) for response in exc.recipients]
            final = bool(codes) and all(c.startswith("5") for c in codes)
            raise (PermanentSendError if final else TransientSendError)(
                codes[0] if codes else "refused"
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise TransientSendError(str(exc.code)) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientSendError("network", type(exc).__name__) from None
        return message_id.strip("<>")

    async def close(self) -> None:
        return None


# ---- web push ------------------------------------------------------------------------------------

MAX_AUDIENCES = 1000  # VAPID tokens kept, one per push service's origin
VAPID_HOURS = 12  # a VAPID token's life (at most 24 hours, RFC 8292); renewed an hour early
PUSH_GONE = "push-gone"  # 404 or 410: the browser's subscription is no more (verdict.py)


class WebPush:
    """Web push (RFC 8030): pywebpush encrypts each message for the browser's keys
    (aes128gcm, RFC 8291) and py_vapid signs the VAPID token (RFC 8292); the request is
    posted here, without following redirects, so that an endpoint checked against
    REDFLAG_PUSH_HOSTS is the only address ever posted to. One VAPID token serves every
    message to a push service for its lifetime: signing it afresh for each message costs
    CPU and says nothing more."""

    channel = "push"

    def __init__(self, settings: Settings) -> None:
        assert settings.vapid_private_key is not None
        self._settings = settings
        self._vapid = Vapid.from_raw(settings.vapid_private_key.get_secret_value().encode())
        self._tokens: dict[str, tuple[float, str]] = {}  # audience: (renew after, header)
        self._http: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    def _session(self) -> aiohttp.ClientSession:
        """Made on first use, inside the event loop that will use it (aiohttp insists)."""
        if self._http is None:
            s = self._settings
            tls = ssl.create_default_context()  # the push services' own CAs...
            if s.push_ca_file:
                tls.load_verify_locations(cafile=str(s.push_ca_file))  # ... and one more
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=max(s.worker_concurrency, 1), ssl=tls)
            )
        return self._http

    def authorization(self, endpoint: str) -> str:
        """The VAPID header for the endpoint's push service (its origin is the audience)."""
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._tokens.get(audience)
        if cached is None or now >= cached[0]:
            if len(self._tokens) >= MAX_AUDIENCES:  # subdomains are the subscribers' choice
                self._tokens.clear()
            expires = int(now) + VAPID_HOURS * 3600
            claims = {"aud": audience, "exp": expires, "sub": self._settings.vapid_subject}
            header = self._vapid.sign(claims)["Authorization"]
            cached = (expires - 3600, header)
            self._tokens[audience] = cached
        return cached[1]

    async def send(self, message: Message) -> str:
        subscription = json.loads(message.to)
        endpoint = subscription["endpoint"]
        if not self._settings.push_host_allowed(urlsplit(endpoint).hostname or ""):
            # REDFLAG_PUSH_HOSTS was narrowed after this browser signed up.
            raise PermanentSendError("push-host-not-allowed")
        payload = json.dumps(
            {"title": message.subject or self._settings.site_name, "body": message.text},
            ensure_ascii=False,
        ).encode()
        body = WebPusher(subscription).encode(payload, "aes128gcm")["body"]
        headers = {
            "Authorization": self.authorization(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self._settings.push_ttl_seconds),
            "Urgency": "high",  # a warning: wake the phone
        }
        try:
            async with self._session().post(
                endpoint,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientSendError("network", type(exc).__name__) from None
        if 200 <= status < 300:
            # Push services report no delivery later: the id is only this worker's count.
            return f"push-{next(self._ids)}"
        if status in {404, 410}:
            raise PermanentSendError(PUSH_GONE, f"HTTP {status}")
        if status == 429 or status >= 500:
            raise TransientSendError(f"http-{status}")
        raise PermanentSendError(f"http-{status}")

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


# ---- development ---------------------------------------------------------------------------


class Console:
    """Prints messages instead of sending them (the default for `make run`). The recipient
    is shown masked, so even development output carries no full phone number or address."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._ids = itertools.count(1)

    async def send(self, message: Message) -> str:
        number = next(self._ids)
        kind = "phone" if message.channel == "sms" else "email"
        to = mask(kind, message.to, "partial")
        lines = [f"--- redflag {message.channel} #{number} to {to} ---"]
        if message.subject:
            lines.append(f"Subject: {message.subject}")
        lines.append(message.text)
        print("\n".join(lines), flush=True)
        return f"console-{message.channel}-{number}"

    async def close(self) -> None:
        return None


def build(settings: Settings) -> dict[str, Provider]:
    """The configured providers by channel; a channel set to "none" is not offered."""
    providers: dict[str, Provider] = {}
    if settings.sms_provider == "twilio":
        providers["sms"] = TwilioSms(settings)
    elif settings.sms_provider == "console":
        providers["sms"] = Console("sms")
    if settings.push_enabled:
        providers["push"] = WebPush(settings)
    if settings.email_provider == "smtp":
        providers["email"] = SmtpEmail(settings)
    elif settings.email_provider == "console":
        providers["email"] = Console("email")
    return providers


async def close_all(providers: dict[str, Provider]) -> None:
    for provider in providers.values():
        await provider.close()
