"""FastAPI dependencies, as `Annotated` aliases so routes read like sentences."""

from __future__ import annotations

from collections.abc import Iterator
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
    """Only for rate limiting, in memory: never store or log what this returns."""
    return request.client.host if request.client else "unknown"


class RateLimit:
    """A route dependency counting the request against one rate-limit bucket, keyed on a
    daily pseudonym of the client's address (app.ratelimit)."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def __call__(self, request: Request) -> None:
        request.app.state.limiter.hit(self.bucket, client_address(request))
