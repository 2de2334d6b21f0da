"""Moderator authentication: logins, lock-out, second factors, and every token attack."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from threading import Barrier
from typing import Any

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from jose import jwt
from sqlmodel import Session, create_engine, select

from app.db import make_engine
from app.settings import Settings, new_key
from moderation import accounts, security
from moderation.accounts import LOGIN_FAILED
from moderation.models import AuditEntry, Moderator, Role
from tests.conftest import PASSWORD, LiveServer, Team, TestDatabase
from tests.helpers import all_routes

Auth = Callable[[Any], dict[str, str]]


def login(
    client: TestClient, username: str, password: str = PASSWORD, otp: str | None = None
) -> Any:
    data = {"username": username, "password": password, **({"otp": otp} if otp else {})}
    return client.post("/api/v1/auth/token", data=data)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_gives_a_short_lived_signed_token(
    client: TestClient, team: Team, settings: Settings
) -> None:
    response = login(client, "Alice")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["scope"] == "moderate"
    assert 0 < body["expires_in"] <= 15 * 60
    claims = jwt.get_unverified_claims(body["access_token"])
    assert claims["sub"] == str(team.alice.id) and claims["role"] == "moderator"
    assert claims["exp"] - claims["iat"] <= 15 * 60
    assert re.fullmatch(r"[0-9a-f]{32}", claims["jti"])
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    assert (
        client.get("/api/v1/moderation/queue", headers=bearer(body["access_token"])).status_code
        == 200
    )


def test_unknown_user_and_wrong_password_get_the_same_answer(
    client: TestClient, team: Team
) -> None:
    wrong = login(client, "alice", "not the password")
    unknown = login(client, "nobody-here")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": LOGIN_FAILED}


@pytest.fixture(params=["memory", "redis"])
def guarded_app(
    request: pytest.FixtureRequest,
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
) -> Iterator[TestClient]:
    """An app whose failure counts live in memory, or in Redis as replicas share them. A
    fresh index key gives each test its own pseudonyms, so earlier runs do not count."""
    redis_url = os.environ.get("REDFLAG_TEST_REDIS_URL")
    if request.param == "redis" and not redis_url:
        pytest.skip("Redis tests need REDFLAG_TEST_REDIS_URL (CI sets it)")
    settings = make_settings(
        database_url="sqlite://",
        index_key=new_key(),
        redis_url=redis_url if request.param == "redis" else None,
    )
    with make_client(settings) as client:
        yield client


def from_address(app_client: TestClient, address: str) -> TestClient:
    """Another client of the same app (and the same counters), from `address`."""
    return TestClient(app_client.app, client=(address, 50000))


def test_failures_lock_out_that_client_not_the_account(
    guarded_app: TestClient, session: Session, team: Team, settings: Settings
) -> None:
    here, there = from_address(guarded_app, "192.0.2.1"), from_address(guarded_app, "192.0.2.2")
    for _ in range(settings.login_max_failures):
        assert login(here, "alice", "guess").status_code == 401
    locked = login(here, "alice")
    assert locked.status_code == 429, "this client is out, even with the right password"
    assert 0 < int(locked.headers["retry-after"]) <= settings.login_lockout_minutes * 60
    assert login(there, "alice").status_code == 200, "no account-wide lock: others get in"
    assert login(here, "carol").status_code == 200, "and this client can use other accounts"
    actions = session.exec(
        select(AuditEntry.action).where(AuditEntry.moderator_id == team.alice.id)
    ).all()
    assert actions.count("login.failed") == settings.login_max_failures


def test_unknown_accounts_lock_out_the_same_way(
    guarded_app: TestClient, team: Team, settings: Settings
) -> None:
    here = from_address(guarded_app, "192.0.2.3")
    for name in ("alice", "nobody-here"):
        statuses = [login(here, name, "guess").status_code for _ in range(6)]
        assert statuses == [401] * settings.login_max_failures + [429], name


def test_a_success_forgets_the_clients_failures(
    guarded_app: TestClient, team: Team, settings: Settings
) -> None:
    here = from_address(guarded_app, "192.0.2.4")
    for _ in range(2):
        for _ in range(settings.login_max_failures - 1):
            assert login(here, "alice", "guess").status_code == 401
        assert login(here, "alice").status_code == 200


def test_an_account_guessed_at_from_many_clients_is_shown_to_admins(
    guarded_app: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    def moderators() -> dict[str, Any]:
        listed = guarded_app.get("/api/v1/admin/moderators", headers=auth(team.bob)).json()
        return {m["username"]: m for m in listed}

    for n in range(20):
        assert login(from_address(guarded_app, f"198.51.100.{n}"), "alice", "x").status_code == 401
    assert moderators()["alice"]["crowd_guess_at"] is None, "20 clients are not yet a crowd"
    for n in range(20, 30):
        assert login(from_address(guarded_app, f"198.51.100.{n}"), "alice", "x").status_code == 401
    assert moderators()["alice"]["crowd_guess_at"] is not None
    assert moderators()["carol"]["crowd_guess_at"] is None
    marked = session.exec(
        select(AuditEntry).where(AuditEntry.action == "login.failed_from_many_clients")
    ).all()
    assert [(e.moderator_id, e.target_type, e.target_id) for e in marked] == [
        (None, "moderator", str(team.alice.id))
    ], "once an hour, about the account, and nothing about the clients"
    assert login(from_address(guarded_app, "203.0.113.9"), "alice").status_code == 200


def test_failure_counts_hold_no_username_or_address_in_redis(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings], team: Team
) -> None:
    import redis

    redis_url = os.environ.get("REDFLAG_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("Redis tests need REDFLAG_TEST_REDIS_URL (CI sets it)")
    store = redis.Redis.from_url(redis_url)
    before = set(store.keys("*"))  # other tests may share this database: never flush it
    settings = make_settings(database_url="sqlite://", index_key=new_key(), redis_url=redis_url)
    with make_client(settings) as client:
        assert login(from_address(client, "192.0.2.77"), "alice", "guess").status_code == 401
    keys = [k.decode() for k in set(store.keys("*")) - before]
    assert any("login-failures" in k for k in keys), keys
    assert not any("alice" in k or "192.0.2.77" in k for k in keys), keys


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_guesses_sent_at_the_same_moment_are_counted_before_they_are_judged(
    storage: str,
    make_live_server: Callable[..., LiveServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """16 wrong passwords for one account from one client, all at once, through a real
    server: 5 are checked and the rest refused, not all 16 checked because each looked
    at the lock before any failure had been counted."""
    redis_url = os.environ.get("REDFLAG_TEST_REDIS_URL")
    if storage == "redis" and not redis_url:
        pytest.skip("Redis tests need REDFLAG_TEST_REDIS_URL (CI sets it)")
    server = make_live_server(
        index_key=new_key(), redis_url=redis_url if storage == "redis" else None
    )
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            accounts.create(session, username="alice", password=PASSWORD, role=Role.moderator)
            session.commit()
        checked: list[str] = []  # appended from the server's threads
        verify = security.verify_password

        def slow_verify(password: str, password_hash: str | None) -> bool:
            checked.append(password)
            time.sleep(0.2)  # keeps the requests overlapping, as a slow hash does; not timed
            return verify(password, password_hash)

        monkeypatch.setattr(security, "verify_password", slow_verify)
        start = Barrier(16)

        def guess(n: int) -> int:
            start.wait()
            data = {"username": "alice", "password": f"guess {n}"}
            return httpx.post(f"{server.url}/api/v1/auth/token", data=data, timeout=60).status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(guess, range(16)))
        failures = server.settings.login_max_failures
        assert len(checked) == failures, "only the attempts within the limit are checked"
        assert sorted(statuses) == [401] * failures + [429] * (16 - failures)
        with Session(engine) as session:
            audited = session.exec(
                select(AuditEntry.action).where(AuditEntry.action == "login.failed")
            ).all()
        assert len(audited) == failures
    finally:
        engine.dispose()


def test_a_lock_out_does_not_end_at_midnight(
    guarded_app: TestClient, team: Team, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure counts are keyed on the client's HMAC without the day (the rate
    limits' daily pseudonym would hand a locked-out client new tries at midnight)."""
    import app.ratelimit

    here = from_address(guarded_app, "192.0.2.8")
    for _ in range(settings.login_max_failures):
        assert login(here, "alice", "guess").status_code == 401

    class Tomorrow(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + timedelta(days=1)

    monkeypatch.setattr(app.ratelimit, "datetime", Tomorrow)
    assert login(here, "alice", "guess").status_code == 429


# ---- token attacks ------------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(moderator: Any, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": str(moderator.id), "aud": "redflag-moderator"}
    claims |= {"role": moderator.role, "jti": "a" * 32, "sid": "s", "scope": "moderate"}
    claims |= {"iat": now, "exp": now + 600}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _attacks(settings: Settings, alice: Any, bob: Any) -> dict[str, str]:
    secret = settings.jwt_secret.get_secret_value()  # type: ignore[union-attr]
    good = jwt.encode(_claims(alice), secret, algorithm="HS256")
    header, payload, signature = good.split(".")
    return {
        "expired": jwt.encode(
            _claims(alice, iat=int(time.time()) - 3600, exp=int(time.time()) - 60),
            secret,
            algorithm="HS256",
        ),
        "tampered": f"{header}.{_b64(_claims(bob))}.{signature}",
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(bob))}.",
        "HS512": jwt.encode(_claims(bob), secret, algorithm="HS512"),
        "RS256 header, HMAC signature": f"{_b64({'alg': 'RS256'})}.{payload}.{signature}",
        "wrong secret": jwt.encode(_claims(bob), "x" * 64, algorithm="HS256"),
        "no expiry": jwt.encode(_claims(alice, exp=None), secret, algorithm="HS256"),
        "no jti": jwt.encode(_claims(alice, jti=None), secret, algorithm="HS256"),
        "garbage": "not.a.token",
    }


@pytest.mark.parametrize(
    "attack",
    ["expired", "tampered", "alg none", "HS512", "RS256 header, HMAC signature", "wrong secret",
     "no expiry", "no jti", "garbage"],
)  # fmt: skip
def test_forged_and_broken_tokens_are_refused(
    client: TestClient, team: Team, settings: Settings, attack: str
) -> None:
    token = _attacks(settings, team.alice, team.bob)[attack]
    response = client.get("/api/v1/moderation/audit", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_deactivated_moderators_token_stops_working(
    client: TestClient, team: Team, auth: Auth
) -> None:
    alice = auth(team.alice)
    assert client.get("/api/v1/moderation/queue", headers=alice).status_code == 200
    client.post(f"/api/v1/admin/moderators/{team.alice.id}/deactivate", headers=auth(team.bob))
    assert client.get("/api/v1/moderation/queue", headers=alice).status_code == 401
    assert login(client, "alice").status_code == 401


def test_logging_out_ends_every_token_of_the_account(client: TestClient, team: Team) -> None:
    here = login(client, "alice").json()["access_token"]
    elsewhere = login(client, "alice").json()["access_token"]
    assert client.post("/api/v1/auth/logout", headers=bearer(here)).status_code == 204
    for token in (here, elsewhere):
        assert client.get("/api/v1/moderation/queue", headers=bearer(token)).status_code == 401
        assert client.post("/api/v1/auth/totp/setup", headers=bearer(token)).status_code == 401
    fresh = login(client, "alice").json()["access_token"]
    assert client.get("/api/v1/moderation/queue", headers=bearer(fresh)).status_code == 200
    assert login(client, "carol").status_code == 200, "other accounts are untouched"


def test_a_deactivation_ends_tokens_for_good(client: TestClient, team: Team, auth: Auth) -> None:
    token = login(client, "alice").json()["access_token"]
    for action in ("deactivate", "activate"):
        client.post(f"/api/v1/admin/moderators/{team.alice.id}/{action}", headers=auth(team.bob))
    assert client.get("/api/v1/moderation/queue", headers=bearer(token)).status_code == 401
    assert login(client, "alice").status_code == 200


NEW_PASSWORD = "another long password"


def test_moderators_change_their_own_password(client: TestClient, team: Team) -> None:
    here = login(client, "alice").json()["access_token"]
    elsewhere = login(client, "alice").json()["access_token"]

    def change(current: str, new: str) -> Any:
        body = {"current_password": current, "new_password": new}
        return client.post("/api/v1/auth/password", headers=bearer(here), json=body)

    wrong = change("not my password", NEW_PASSWORD)
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["field"] == "current_password"
    weak = change(PASSWORD, "short")
    assert weak.status_code == 422 and weak.json()["detail"][0]["field"] == "new_password"
    changed = change(PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 200 and changed.json()["scope"] == "moderate"
    for token in (here, elsewhere):
        assert client.get("/api/v1/moderation/queue", headers=bearer(token)).status_code == 401
    fresh = bearer(changed.json()["access_token"])
    assert client.get("/api/v1/moderation/queue", headers=fresh).status_code == 200
    assert login(client, "alice").status_code == 401
    assert login(client, "alice", NEW_PASSWORD).status_code == 200


def test_an_admin_resets_a_forgotten_password(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    before = login(client, "alice").json()["access_token"]
    reset = client.post(
        f"/api/v1/admin/moderators/{team.alice.id}/reset-password", headers=auth(team.bob)
    )
    assert reset.status_code == 200
    one_time = reset.json()["one_time_password"]
    assert len(one_time) >= 16 and reset.json()["moderator"]["must_change_password"] is True
    assert client.get("/api/v1/moderation/queue", headers=bearer(before)).status_code == 401
    assert login(client, "alice").status_code == 401, "the old password is gone"

    first = login(client, "alice", one_time).json()
    assert first["scope"] == "password-change"
    limited = bearer(first["access_token"])
    assert client.get("/api/v1/moderation/queue", headers=limited).status_code == 403
    changed = client.post(
        "/api/v1/auth/password",
        headers=limited,
        json={"current_password": one_time, "new_password": NEW_PASSWORD},
    ).json()
    assert changed["scope"] == "moderate"
    full = bearer(changed["access_token"])
    assert client.get("/api/v1/moderation/queue", headers=full).status_code == 200
    assert login(client, "alice", one_time).status_code == 401, "used once"
    assert login(client, "alice", NEW_PASSWORD).json()["scope"] == "moderate"
    logged = session.exec(
        select(AuditEntry.moderator_id).where(AuditEntry.action == "moderator.reset_password")
    ).all()
    assert logged == [team.bob.id], "the admin's doing, without the password"


def test_the_current_password_is_guessed_no_more_freely_than_at_login(
    guarded_app: TestClient, session: Session, team: Team, settings: Settings
) -> None:
    """A stolen token must not be a way around the lock-out: wrong current passwords count
    like failed logins, per account and client, and are audited without the password or
    the client."""
    here = from_address(guarded_app, "192.0.2.5")
    token = login(here, "alice").json()["access_token"]

    def change(current: str) -> Any:
        body = {"current_password": current, "new_password": NEW_PASSWORD}
        return here.post("/api/v1/auth/password", headers=bearer(token), json=body)

    failures = settings.login_max_failures
    statuses = [change(f"guess {n}").status_code for n in range(failures + 1)]
    assert statuses == [422] * failures + [429]
    refused = change(PASSWORD)
    assert refused.status_code == 429, "locked out, even with the right password"
    assert 0 < int(refused.headers["retry-after"]) <= settings.login_lockout_minutes * 60
    assert login(here, "alice").status_code == 429, "one budget for guessing her password"
    assert login(from_address(guarded_app, "192.0.2.6"), "alice").status_code == 200
    audited = session.exec(
        select(AuditEntry).where(AuditEntry.action == "password.change_failed")
    ).all()
    assert [(e.moderator_id, e.target_type, e.target_id) for e in audited] == [
        (team.alice.id, "moderator", str(team.alice.id))
    ] * failures


def test_password_changes_count_against_the_login_rate_limit(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
    team: Team,
    auth: Auth,
) -> None:
    settings = make_settings(index_key=new_key(), rate_limit_login="3/minute")
    body = {"current_password": PASSWORD, "new_password": "short"}  # right, then too weak
    with make_client(settings) as client:
        statuses = [
            client.post("/api/v1/auth/password", headers=auth(team.alice), json=body).status_code
            for _ in range(4)
        ]
    assert statuses == [422, 422, 422, 429]


def test_logging_out_twice_at_once_moves_the_token_version_on_twice(
    database: TestDatabase,
) -> None:
    """Two requests for one account, each having read it before the other wrote (two
    devices logging out, a logout beside a password change): each must end the tokens
    issued before it, so the version moves on in the database, not in Python.

    A plain engine: the app's SQLite engine takes the write lock at BEGIN, which
    happens to serialise these requests there; the accounts code must not rely on it."""
    engine = create_engine(database.fresh())
    try:
        with Session(engine) as setup:
            made = accounts.create(setup, username="alice", password=PASSWORD, role=Role.moderator)
            setup.commit()
            alice = made.id or 0
        with Session(engine) as here, Session(engine) as there:
            on_this_device = here.get(Moderator, alice)
            on_that_device = there.get(Moderator, alice)
            assert on_this_device and on_that_device
            accounts.log_out(here, moderator=on_this_device)
            here.commit()
            in_between = on_this_device.token_version  # a login now gets this version
            accounts.log_out(there, moderator=on_that_device)
            there.commit()
        with Session(engine) as after:
            assert (
                accounts.get_signed_in(after, moderator_id=alice, token_version=in_between) is None
            )
            assert after.get(Moderator, alice).token_version == 2  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_a_demotion_takes_effect_at_once(client: TestClient, team: Team, auth: Auth) -> None:
    bob = auth(team.bob)  # the token still says "admin"
    client.post(
        f"/api/v1/admin/moderators/{team.carol.id}/role", headers=bob, json={"role": "admin"}
    )
    client.post(
        f"/api/v1/admin/moderators/{team.bob.id}/role",
        headers=auth(team.carol),
        json={"role": "moderator"},
    )
    assert client.get("/api/v1/moderation/audit", headers=bob).status_code == 403


# ---- every route is closed -----------------------------------------------------------------------


def _moderator_routes(client: TestClient) -> list[tuple[str, str]]:
    return [
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for method, path in all_routes(client.app)
        if path.startswith(("/api/v1/moderation", "/api/v1/admin"))
    ]


def test_every_moderator_route_needs_a_token(client: TestClient) -> None:
    routes = _moderator_routes(client)
    assert len(routes) >= 20
    for method, path in routes:
        response = client.request(method, path, json={})
        assert response.status_code == 401, (method, path)


ADMIN_ONLY = ("/api/v1/admin", "/api/v1/moderation/audit")


def test_admin_routes_refuse_moderators(client: TestClient, team: Team, auth: Auth) -> None:
    for method, path in _moderator_routes(client):
        if path.startswith(ADMIN_ONLY):
            response = client.request(method, path, headers=auth(team.alice), json={})
            assert response.status_code == 403, (method, path)


def test_the_admin_api(client: TestClient, team: Team, auth: Auth) -> None:
    bob = auth(team.bob)
    weak = client.post(
        "/api/v1/admin/moderators", headers=bob, json={"username": "dave", "password": "short"}
    )
    assert weak.status_code == 422 and weak.json()["detail"][0]["field"] == "password"
    created = client.post(
        "/api/v1/admin/moderators", headers=bob, json={"username": "Dave", "password": PASSWORD}
    )
    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "username": "dave",
        "role": "moderator",
        "active": True,
        "totp_enabled": False,
        "must_change_password": False,
        "crowd_guess_at": None,
    }
    assert (
        client.post(
            "/api/v1/admin/moderators", headers=bob, json={"username": "dave", "password": PASSWORD}
        ).status_code
        == 409
    )
    names = [m["username"] for m in client.get("/api/v1/admin/moderators", headers=bob).json()]
    assert names == ["alice", "bob", "carol", "dave"]
    newest = client.get("/api/v1/moderation/audit", headers=bob).json()[0]
    assert (newest["moderator"], newest["action"], newest["target_id"]) == (
        "bob",
        "moderator.create",
        str(created.json()["id"]),
    ), "the account is in the audit log as the admin's doing"
    last_admin = client.post(f"/api/v1/admin/moderators/{team.bob.id}/deactivate", headers=bob)
    assert (
        last_admin.status_code == 409 and "at least one active admin" in last_admin.json()["detail"]
    )


# ---- second factor -------------------------------------------------------------------------------


def test_two_factor_setup_and_login(client: TestClient, team: Team) -> None:
    token = login(client, "alice").json()["access_token"]
    setup = client.post("/api/v1/auth/totp/setup", headers=bearer(token)).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/redflag:alice?")
    totp = pyotp.TOTP(setup["secret"])
    assert client.post(
        "/api/v1/auth/totp/confirm", headers=bearer(token), json={"code": "000000"}
    ).status_code in {422}
    assert (
        client.post(
            "/api/v1/auth/totp/confirm", headers=bearer(token), json={"code": totp.now()}
        ).status_code
        == 200
    )

    assert login(client, "alice").status_code == 401, "now the code is required"
    assert login(client, "alice", otp="123456").status_code == 401
    assert login(client, "alice", otp=totp.now()).status_code == 200


def test_admins_must_set_up_a_second_factor_when_required(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
    team: Team,
    auth: Auth,
) -> None:
    with make_client(make_settings(require_totp=True)) as client:
        assert login(client, "alice").json()["scope"] == "moderate", "moderators are not forced"
        first = login(client, "bob").json()
        assert first["scope"] == "totp-setup"
        limited = bearer(first["access_token"])
        assert client.get("/api/v1/moderation/queue", headers=limited).status_code == 403
        secret = client.post("/api/v1/auth/totp/setup", headers=limited).json()["secret"]
        full = client.post(
            "/api/v1/auth/totp/confirm", headers=limited, json={"code": pyotp.TOTP(secret).now()}
        ).json()
        assert full["scope"] == "moderate"
        assert (
            client.get("/api/v1/moderation/audit", headers=bearer(full["access_token"])).status_code
            == 200
        )

        reset = client.post(
            f"/api/v1/admin/moderators/{team.bob.id}/reset-totp",
            headers=bearer(full["access_token"]),
        )
        assert reset.json()["totp_enabled"] is False
        assert login(client, "bob").json()["scope"] == "totp-setup"
