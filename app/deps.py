"""FastAPI dependencies, as `Annotated` aliases so routes read like sentences."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlmodel import Session

from app.crypto import Crypto
from app.settings import Settings
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
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def client_address(request: Request) -> str:
    """The client's address, for rate limiting only: never store or log what this returns.

    The one place that reads X-Forwarded-For (`redflag serve` leaves it to this). Each
    proxy appends the address it was called from, so the chain is read from the right:
    the first address not in REDFLAG_FORWARDED_ALLOW_IPS is the client. What a client
    writes into the header itself is to the left of that and never used.
    """
    peer = request.client.host if request.client else ""
    trusted = trusted_proxies(request.app.state.settings.forwarded_allow_ips)
    if not trusted(peer):
        return _canonical(peer) or "unknown"
    chain = [
        _host(hop)
        for value in request.headers.getlist("x-forwarded-for")
        for hop in value.split(",")
        if hop.strip()
    ]
    for hop in reversed(chain):
        if not trusted(hop):
            return _canonical(hop)
    # Every hop is a trusted proxy (or trust is "*"): the left-most is all there is.
    return _canonical(chain[0]) if chain else _canonical(peer)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def trusted_proxies(setting: str) -> Callable[[str], bool]:
    """REDFLAG_FORWARDED_ALLOW_IPS as a test: addresses and CIDR ranges, or "*" for all."""
    entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
    if "*" in entries:
        return lambda _host: True
    networks: list[Network] = [ipaddress.ip_network(entry, strict=False) for entry in entries]

    def trusted(host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # "testclient", a unix socket, a spoofed word: not a proxy of ours
        return any(address in network for network in networks)

    return trusted


def _host(hop: str) -> str:
    """An X-Forwarded-For entry without its port: "192.0.2.1:4711", "[2001:db8::1]:443"."""
    hop = hop.strip()
    if hop.startswith("["):
        return hop[1:].split("]", 1)[0]
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop


def _canonical(host: str) -> str:
    """One spelling per address, so "2001:db8::1" and "2001:DB8:0::1" share a budget."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


class RateLimit:
    """A route dependency counting the request against one rate-limit bucket, keyed on a
    daily pseudonym of the client's address (app.ratelimit)."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def __call__(self, request: Request) -> None:
        request.app.state.limiter.hit(self.bucket, client_address(request))
