"""FastAPI dependencies, as `Annotated` aliases so routes read like sentences."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlmodel import Session

from app.crypto import Crypto
from app.settings import Settings, proxy_networks
from app.support.models import SupportFile
from app.web import Pages


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_crypto(request: Request) -> Crypto:
    crypto: Crypto = request.app.state.crypto
    return crypto


async def get_pages(request: Request) -> Pages:
    """The public site's page renderer (app, alerts); the /mod pages have their own."""
    pages: Pages = request.app.state.pages
    return pages


async def get_support(request: Request) -> SupportFile:
    """The support organisations the deployment loaded at start (REDFLAG_SUPPORT_FILE)."""
    support: SupportFile = request.app.state.support
    return support


def get_session(request: Request) -> Iterator[Session]:
    """The request's one transaction: committed when the route returns, rolled back on error.

    Used with scope="function" so the commit happens before the response is sent: a
    reporter is never told "received" for a report that failed to commit.

    This is the one place a request commits or rolls back. An error that must keep what
    was written (`keeps_writes`, e.g. a wrong code counted) is committed before it is
    answered; every other error is rolled back.
    """
    session = request.app.state.session_factory()
    try:
        yield session
    except BaseException as exc:
        if getattr(exc, "keeps_writes", False):
            session.commit()
        else:
            session.rollback()
        raise
    else:
        session.commit()
    finally:
        session.close()


# A row's id in a URL: what a database integer can hold, so a huge number is a 422,
# not an overflow inside the database driver.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]

SettingsDep = Annotated[Settings, Depends(get_settings)]
CryptoDep = Annotated[Crypto, Depends(get_crypto)]
PagesDep = Annotated[Pages, Depends(get_pages)]
SupportDep = Annotated[SupportFile, Depends(get_support)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def client_address(request: Request) -> str:
    """The client, for rate limiting only: never store or log what this returns.

    The one place that reads X-Forwarded-For (`redflag serve` leaves it to this). Each
    proxy appends the address it was called from, so the chain is read from the right:
    the first address not in REDFLAG_FORWARDED_ALLOW_IPS is the client. What a client
    writes into the header itself is to the left of that and never used.

    An IPv6 client is its /64: whoever has one can use any address in it, so counting each
    address apart would give them a fresh budget per request. An IPv4-mapped address
    (::ffff:203.0.113.9) is the IPv4 address it carries, for trust and for counting.
    """
    peer = request.client.host if request.client else ""
    trusted = trusted_proxies(request.app.state.settings.forwarded_allow_ips)
    if not trusted(peer):
        return _client(peer) or "unknown"
    chain = [
        _host(hop)
        for value in request.headers.getlist("x-forwarded-for")
        for hop in value.split(",")
        if hop.strip()
    ]
    for hop in reversed(chain):
        if not trusted(hop):
            return _client(hop)
    # Every hop is a trusted proxy (or trust is "*"): the left-most is all there is.
    return _client(chain[0]) if chain else _client(peer)


@functools.lru_cache(maxsize=8)
def trusted_proxies(setting: str) -> Callable[[str], bool]:
    """REDFLAG_FORWARDED_ALLOW_IPS as a test: addresses and CIDR ranges, or "*" for all.

    Settings refuses a value that is not (app.settings.proxy_networks)."""
    networks = proxy_networks(setting)
    if networks is None:
        return lambda _host: True

    def trusted(host: str) -> bool:
        address = _address(host)
        # None: "testclient", a unix socket, a spoofed word: not a proxy of ours.
        return address is not None and any(address in network for network in networks)

    return trusted


def trusts_every_proxy(setting: str) -> bool:
    """Whether any client could write its own address: "*", or a range as wide as 0.0.0.0/0."""
    trusted = trusted_proxies(setting)
    # Addresses reserved for documentation: no one's proxy.
    return trusted("192.0.2.0") or trusted("2001:db8::")


def _host(hop: str) -> str:
    """An X-Forwarded-For entry without its port: "192.0.2.1:4711", "[2001:db8::1]:443"."""
    hop = hop.strip()
    if hop.startswith("["):
        return hop[1:].split("]", 1)[0]
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host string is, an IPv4-mapped one as IPv4; None if it is none."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _client(host: str) -> str:
    """What a rate limit counts: an IPv4 address, an IPv6 /64, one spelling each."""
    address = _address(host)
    if address is None:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


class RateLimit:
    """A route dependency counting the request against one rate-limit bucket, keyed on a
    daily pseudonym of the client's address (app.ratelimit)."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def __call__(self, request: Request) -> None:
        counter(request, self.bucket)()


def counter(request: Request, bucket: str) -> Callable[[], None]:
    """RateLimit's count, to be made when the route knows whether this request counts (a
    new push member does, a known browser does not); RateLimited when over."""
    return functools.partial(request.app.state.limiter.hit, bucket, client_address(request))
