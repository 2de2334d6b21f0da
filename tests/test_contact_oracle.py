"""Nobody can learn whether a number or address is subscribed (issue 12).

Every route that takes a contact answers with the same status, the same body and in about
the same time whether or not the contact is known, and whatever the provider does: a code
goes to the outbox and the delivery worker sends it, never the request. With the provider
answering in 250 ms, a subscribed number took a median 263 ms and an unknown one 7 ms;
during a provider outage a subscriber got 503 and a stranger 202.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import update
from sqlmodel import Session

from alerts.delivery.providers import build, close_all
from alerts.delivery.worker import make_worker
from alerts.models import Delivery
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import utcnow
from app.settings import Settings

KNOWN = "+31687654321"
PROVIDER_DELAY = 0.3  # seconds the fake Twilio takes to answer
SAMPLES = 20


# Every route that takes a contact: (path, a page?), and where its code is taken back.
CONTACT_ROUTES = [
    ("/api/v1/subscriptions", False),
    ("/api/v1/subscriptions/unsubscribe", False),
    ("/api/v1/members/login", False),
    ("/en/subscribe", True),
    ("/en/leave", True),
    ("/en/check/login", True),
]
TAKES_THE_CODE = {
    "/api/v1/subscriptions": "/api/v1/subscriptions/confirm",
    "/api/v1/subscriptions/unsubscribe": "/api/v1/subscriptions/unsubscribe",
    "/api/v1/members/login": "/api/v1/members/verify",
    "/en/subscribe": "/en/subscribe/code",
    "/en/leave": "/en/leave/code",
    "/en/check/login": "/en/check/verify",
}

# Routes that take someone's own contact to keep, never to look up (so there is nothing to
# tell apart): an objector's, encrypted and deleted with the decision (tests/test_objections.py).
KEPT_NOT_LOOKED_UP = {"/api/v1/objections", "/{lang}/objection"}


def body_fields(route: APIRoute) -> set[str]:
    """The fields a route takes in its body: form fields, or a JSON model's fields."""
    names = set()
    for param in route.dependant.body_params:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= set(annotation.model_fields)
        else:
            names.add(param.name)
    return names


def test_every_route_that_takes_a_contact_is_listed(client: TestClient) -> None:
    """A new route that takes a contact must join CONTACT_ROUTES, and so these tests (or
    TAKES_THE_CODE, if it only takes a code back)."""
    takes_a_contact = {
        context.path
        for context in iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]
        if isinstance(route := context.original_route, APIRoute) and "contact" in body_fields(route)
    }
    listed = {path for path, _ in CONTACT_ROUTES} | set(TAKES_THE_CODE.values())
    expected = {path.replace("/en/", "/{lang}/") for path in listed} | KEPT_NOT_LOOKED_UP
    assert takes_a_contact == expected


@pytest.fixture
def client(
    make_client: Callable[..., TestClient], delivery_settings: Callable[..., Settings]
) -> Iterator[TestClient]:
    # No code limit in the way: the known contact gets a code every time it asks.
    with make_client(delivery_settings(rate_limit_codes="10000/hour")) as c:
        yield c


@pytest.fixture
def known(session: Session, crypto: Crypto) -> None:
    """A confirmed SMS subscriber for Assen."""
    subscriber = subscriptions._new_subscriber(
        session, channel="sms", contact=KNOWN, language="en", crypto=crypto
    )
    subscriber.confirmed_at = utcnow()
    subscriber.membership = "verified"
    subscriptions.set_regions(session, subscriber=subscriber, codes=["GM0106"], replace=True)
    session.commit()


def stranger(i: int) -> str:
    return f"+316110{i:05d}"


def ask(client: TestClient, path: str, page: bool, contact: str) -> httpx.Response:
    body = {"channel": "sms", "contact": contact}
    if page:
        return client.post(path, data={**body, "place": "Assen"})
    if path == "/api/v1/subscriptions":
        return client.post(path, json={**body, "regions": ["GM0106"]})
    return client.post(path, json=body)


def answer(response: httpx.Response, contact: str) -> tuple[int, str]:
    """Status and body, the contact as typed (the pages carry it to the code step) left out."""
    return response.status_code, response.text.replace(contact, "CONTACT")


def timed(client: TestClient, path: str, page: bool, contact: str) -> float:
    started = time.perf_counter()
    response = ask(client, path, page, contact)
    elapsed = time.perf_counter() - started
    assert response.status_code in {200, 202}, response.text
    return elapsed


def send(client: TestClient) -> None:
    """What the delivery worker sends now (as tests.helpers.deliver; here so that this file
    runs on its own against older code too)."""
    app: Any = client.app

    async def drain() -> None:
        providers = build(app.state.settings)
        try:
            await make_worker(app.state.settings, app.state.session_factory, providers).drain()
        finally:
            await close_all(providers)

    asyncio.run(drain())


@pytest.mark.usefixtures("known")
@pytest.mark.parametrize(("path", "page"), CONTACT_ROUTES)
def test_known_and_unknown_contacts_take_the_same_time(
    client: TestClient, twilio: Any, path: str, page: bool
) -> None:
    twilio.delay = PROVIDER_DELAY
    known, unknown = [], []
    for i in range(SAMPLES):  # interleaved, so that a slow moment hits both alike
        known.append(timed(client, path, page, KNOWN))
        unknown.append(timed(client, path, page, stranger(i)))
    difference = abs(statistics.median(known) - statistics.median(unknown))
    assert difference < 0.020, (
        f"median {statistics.median(known) * 1000:.0f} ms for a subscriber, "
        f"{statistics.median(unknown) * 1000:.0f} ms for a stranger"
    )
    assert twilio.requests == 0, "nothing is sent while a request waits"


@pytest.mark.usefixtures("known")
@pytest.mark.parametrize(("path", "page"), CONTACT_ROUTES)
def test_a_provider_outage_answers_the_same_for_known_and_unknown(
    client: TestClient, twilio: Any, session: Session, path: str, page: bool
) -> None:
    twilio.fail_for(3600, 503)
    subscriber = answer(ask(client, path, page, KNOWN), KNOWN)
    nobody = answer(ask(client, path, page, stranger(1)), stranger(1))
    assert subscriber == nobody
    assert subscriber[0] in {200, 202}
    send(client)
    assert twilio.messages == [], "the provider is down"

    twilio.reset()  # the provider is back; the code waits for its retry
    session.execute(update(Delivery).values(due_at=utcnow()))
    session.commit()
    send(client)
    signing_up = path in {"/api/v1/subscriptions", "/en/subscribe"}  # a stranger may sign up
    expected = [KNOWN, stranger(1)] if signing_up else [KNOWN]
    assert sorted(m["to"] for m in twilio.messages) == sorted(expected)


@pytest.mark.usefixtures("known")
@pytest.mark.parametrize(("path", "page"), CONTACT_ROUTES)
def test_the_code_comes_through_the_worker_and_works(
    client: TestClient, twilio: Any, path: str, page: bool
) -> None:
    asked = ask(client, path, page, KNOWN)
    assert asked.status_code in {200, 202}
    assert twilio.messages == [], "not sent inside the request"
    send(client)
    [message] = twilio.sent_to(KNOWN)
    code = re.search(r"\b(\d{6})\b", message["body"])
    assert code is not None
    taken = {"channel": "sms", "contact": KNOWN, "code": code.group(1)}
    back = TAKES_THE_CODE[path]
    response = client.post(back, data=taken) if page else client.post(back, json=taken)
    assert response.status_code == 200, response.text
    assert 'name="code"' not in response.text, "the code was taken"
