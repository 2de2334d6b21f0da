"""Which address a rate limit counts: the client's, read from the right of X-Forwarded-For.

A client can write any X-Forwarded-For it likes; the proxy in front appends the address it
was called from. Only the hops in REDFLAG_FORWARDED_ALLOW_IPS are believed, so the client
is the right-most address that is not one of them (app.deps.client_address).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from app.deps import client_address
from app.main import create_app
from app.settings import Settings, SettingsError, new_key
from tests.conftest import TestDatabase
from tests.helpers import ROOT, start_server_process

STATUS = "/api/v1/reports/status"
UNKNOWN_RECEIPT = {"X-Receipt-Code": "AAAA-BBBB-CCCC"}  # a 404 until the limit is reached
PROXY = "10.0.0.2"


def address(peer: str, forwarded: list[str], trusted: str) -> str:
    settings = SimpleNamespace(forwarded_allow_ips=trusted)
    scope = {
        "type": "http",
        "app": SimpleNamespace(state=SimpleNamespace(settings=settings)),
        "client": (peer, 40000),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }
    return client_address(Request(scope))


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        # The proxy appended 203.0.113.9; what is left of it the client wrote.
        (PROXY, ["198.51.100.1, 203.0.113.9"], PROXY, "203.0.113.9"),
        (PROXY, ["198.51.100.1, 203.0.113.9"], "10.0.0.0/24", "203.0.113.9"),
        # Two proxies of ours, one header line each.
        (PROXY, ["198.51.100.1", "203.0.113.9, 10.0.0.3"], "192.0.2.1, 10.0.0.0/8", "203.0.113.9"),
        (PROXY, ["203.0.113.9:4711"], PROXY, "203.0.113.9"),
        (PROXY, ["[2001:DB8:0::1]:443"], PROXY, "2001:db8::/64"),
        ("::1", ["203.0.113.9"], "127.0.0.1, ::1", "203.0.113.9"),
        (PROXY, [], PROXY, PROXY),  # the proxy itself, asking
        (PROXY, ["10.0.0.3"], "10.0.0.0/8", "10.0.0.3"),  # only proxies of ours in the chain
        # Not through a proxy of ours: the header is the client's own word, not believed.
        ("203.0.113.50", ["198.51.100.1"], PROXY, "203.0.113.50"),
        ("203.0.113.50", ["198.51.100.1"], "", "203.0.113.50"),
        # "*" believes every hop: the left-most address, which the client writes.
        (PROXY, ["198.51.100.1, 203.0.113.9"], "*", "198.51.100.1"),
    ],
)
def test_the_client_is_the_right_most_address_that_is_not_a_trusted_proxy(
    peer: str, forwarded: list[str], trusted: str, client: str
) -> None:
    assert address(peer, forwarded, trusted) == client


@pytest.mark.parametrize("trusted", [PROXY, "10.0.0.0/24", "192.0.2.1, 10.0.0.0/8"])
def test_through_a_trusted_proxy_a_spoofed_chain_cannot_get_past_a_limit(
    trusted: str,
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(forwarded_allow_ips=trusted, rate_limit_lookup="5/minute")

    def look_up(client: TestClient, chain: str) -> int:
        headers = {**UNKNOWN_RECEIPT, "X-Forwarded-For": chain}
        return client.get(STATUS, headers=headers).status_code

    with make_client(settings, client=(PROXY, 40000)) as proxy:
        # A new left-most address each time; the proxy appends the one it really saw.
        spoofed = [look_up(proxy, f"198.51.100.{i}, 203.0.113.9") for i in range(8)]
        assert spoofed == [404] * 5 + [429] * 3
        assert look_up(proxy, "203.0.113.10") == 404, "someone else behind the proxy goes on"
    with make_client(settings, client=("203.0.113.50", 40000)) as direct:
        # Straight to the app, not through the proxy: its own header counts for nothing.
        assert [look_up(direct, f"198.51.100.{i}") for i in range(6)] == [404] * 5 + [429]


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        # Whoever has an IPv6 /64 can use any address in it: the /64 is the client.
        ("2001:db8:1:2::1", [], PROXY, "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", [], PROXY, "2001:db8:1:2::/64"),
        (PROXY, ["2001:db8:1:2:a:b:c:d"], PROXY, "2001:db8:1:2::/64"),
        (PROXY, ["[2001:db8:1:2::99]:443"], PROXY, "2001:db8:1:2::/64"),
        ("2001:db8:ff::2", ["2001:db8:1:2::7"], "2001:db8:ff::/64", "2001:db8:1:2::/64"),
        # An IPv4-mapped address is the IPv4 address it carries: as a client ...
        ("::ffff:203.0.113.50", [], PROXY, "203.0.113.50"),
        (PROXY, ["::ffff:203.0.113.9"], PROXY, "203.0.113.9"),
        # ... and as a proxy (a dual-stack socket sees an IPv4 proxy as ::ffff:10.0.0.2).
        ("::ffff:10.0.0.2", ["198.51.100.1, 203.0.113.9"], "10.0.0.0/24", "203.0.113.9"),
        ("::ffff:10.0.0.2", ["198.51.100.1, 203.0.113.9"], PROXY, "203.0.113.9"),
        (PROXY, ["203.0.113.9, ::ffff:10.0.0.3"], "10.0.0.0/24", "203.0.113.9"),
        # A mapped range in the setting is the IPv4 range.
        (PROXY, ["203.0.113.9"], "::ffff:10.0.0.0/120", "203.0.113.9"),
    ],
)
def test_an_ipv6_client_is_its_64_and_a_mapped_address_is_ipv4(
    peer: str, forwarded: list[str], trusted: str, client: str
) -> None:
    assert address(peer, forwarded, trusted) == client


def test_rotating_addresses_within_an_ipv6_64_gets_no_fresh_budget(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings]
) -> None:
    """12 receipt look-ups from 2001:db8:1:2::/64 at 5/minute got no 429."""
    settings = make_settings(forwarded_allow_ips=PROXY, rate_limit_lookup="5/minute")
    with make_client(settings, client=(PROXY, 40000)) as proxy:
        statuses = [
            proxy.get(
                STATUS, headers={**UNKNOWN_RECEIPT, "X-Forwarded-For": f"2001:db8:1:2::{i:x}"}
            ).status_code
            for i in range(1, 13)
        ]
        assert statuses == [404] * 5 + [429] * 7
        other = {**UNKNOWN_RECEIPT, "X-Forwarded-For": "2001:db8:1:3::1"}
        assert proxy.get(STATUS, headers=other).status_code == 404, "the next /64 goes on"


def test_an_ipv4_client_and_its_mapped_spelling_share_one_budget(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(forwarded_allow_ips="10.0.0.0/24", rate_limit_lookup="5/minute")
    # The proxy as a dual-stack socket sees it: an IPv4-mapped address, still ours.
    with make_client(settings, client=("::ffff:10.0.0.2", 40000)) as proxy:
        spellings = ["203.0.113.9", "::ffff:203.0.113.9", "::FFFF:cb00:7109"]
        statuses = [
            proxy.get(
                STATUS, headers={**UNKNOWN_RECEIPT, "X-Forwarded-For": spellings[i % 3]}
            ).status_code
            for i in range(7)
        ]
        assert statuses == [404] * 5 + [429] * 2
        other = {**UNKNOWN_RECEIPT, "X-Forwarded-For": "203.0.113.10"}
        assert proxy.get(STATUS, headers=other).status_code == 404, "not the proxy's one bucket"


def test_any_server_refuses_a_proxy_setting_that_is_not_an_address(
    test_keys: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`uvicorn app.main:create_app --factory` too, not only `redflag serve`: a name here
    made every rate-limited request a 500."""
    for name, value in {
        **test_keys,
        "database_url": f"sqlite:///{tmp_path / 'unused.db'}",
        "secrets_file": str(tmp_path / "unused.env"),
        "forwarded_allow_ips": "10.0.0.2, proxy.internal",
    }.items():
        monkeypatch.setenv(f"REDFLAG_{name.upper()}", value)
    with pytest.raises(SettingsError) as refused:
        create_app()
    assert refused.value.problems == [
        "REDFLAG_FORWARDED_ALLOW_IPS must be addresses or CIDR ranges, comma-separated"
    ]


@pytest.mark.parametrize(
    ("trusted", "warned"),
    [("*", True), ("10.0.0.2, *", True), ("0.0.0.0/0", True), ("::/0", True), (PROXY, False)],
)
def test_the_app_warns_once_when_it_trusts_every_proxy(
    trusted: str,
    warned: bool,
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever server runs the app, not only `redflag serve`; once, not per request."""
    monkeypatch.setattr(logging.getLogger("redflag"), "propagate", True)  # if dictConfig'd
    caplog.set_level(logging.WARNING, logger="redflag.operations")
    with make_client(make_settings(forwarded_allow_ips=trusted)) as client:
        for _ in range(3):
            client.get(STATUS, headers=UNKNOWN_RECEIPT)
    warnings = [
        record
        for record in caplog.records
        if record.levelno == logging.WARNING
        and "REDFLAG_FORWARDED_ALLOW_IPS" in record.getMessage()
    ]
    assert len(warnings) == (1 if warned else 0)


def _serve_env(database: TestDatabase, test_keys: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {
        "REDFLAG_DATABASE_URL": database.fresh(),
        "REDFLAG_DATA_KEY": test_keys["data_key"],
        "REDFLAG_INDEX_KEY": new_key(),
        "REDFLAG_JWT_SECRET": test_keys["jwt_secret"],
        "REDFLAG_SECRETS_FILE": str(tmp_path / "unused.env"),
        "REDFLAG_RATE_LIMIT_LOOKUP": "5/minute",
        "REDFLAG_EMBEDDED_WORKER": "false",
    }


def test_redflag_serve_behind_a_proxy_that_appends(
    database: TestDatabase, test_keys: dict[str, str], tmp_path: Path
) -> None:
    """A real `redflag serve`, called from loopback as a proxy on the same host would."""
    env = {**_serve_env(database, test_keys, tmp_path), "REDFLAG_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    server = start_server_process(env)
    try:
        statuses = [
            httpx.get(
                server.url + STATUS,
                headers={**UNKNOWN_RECEIPT, "X-Forwarded-For": f"198.51.100.{i}, 203.0.113.9"},
                timeout=30,
            ).status_code
            for i in range(7)
        ]
    finally:
        output = server.stop()
    assert statuses == [404] * 5 + [429] * 2
    assert "REDFLAG_FORWARDED_ALLOW_IPS" not in output, "no warning for a named proxy"


def test_trusting_every_proxy_is_warned_about_at_start(
    database: TestDatabase, test_keys: dict[str, str], tmp_path: Path
) -> None:
    env = {**_serve_env(database, test_keys, tmp_path), "REDFLAG_FORWARDED_ALLOW_IPS": "*"}
    output = start_server_process(env).stop()
    warnings = [line for line in output.splitlines() if " WARNING " in line]
    assert any("REDFLAG_FORWARDED_ALLOW_IPS" in line for line in warnings), output


def test_a_proxy_setting_that_is_not_an_address_is_refused_at_start(
    database: TestDatabase, test_keys: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **os.environ,
        **_serve_env(database, test_keys, tmp_path),
        "REDFLAG_FORWARDED_ALLOW_IPS": "proxy.internal",  # a name: never what a peer is
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve", "--port", "1"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("redflag serve started with REDFLAG_FORWARDED_ALLOW_IPS=proxy.internal")
    assert done.returncode == 2
    assert "REDFLAG_FORWARDED_ALLOW_IPS" in done.stderr


def test_no_default_trusts_every_proxy() -> None:
    assert Settings.model_fields["forwarded_allow_ips"].default == "127.0.0.1"
    for name in ("docker-compose.yml", "Dockerfile"):
        settings_lines = [
            line
            for line in (ROOT / name).read_text().splitlines()
            if "FORWARDED_ALLOW_IPS" in line and not line.lstrip().startswith("#")
        ]
        assert not any("*" in line for line in settings_lines), name
    compose = (ROOT / "docker-compose.yml").read_text()
    # The operator must say where the proxy is: compose refuses to start without it.
    assert re.search(r"REDFLAG_FORWARDED_ALLOW_IPS: \$\{REDFLAG_FORWARDED_ALLOW_IPS:\?", compose)
