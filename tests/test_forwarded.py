"""Which address a rate limit counts: the client's, read from the right of X-Forwarded-For.

A client can write any X-Forwarded-For it likes; the proxy in front appends the address it
was called from. Only the hops in REDFLAG_FORWARDED_ALLOW_IPS are believed, so the client
is the right-most address that is not one of them (app.deps.client_address).
"""

from __future__ import annotations

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
from app.settings import Settings, new_key
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
        (PROXY, ["[2001:DB8:0::1]:443"], PROXY, "2001:db8::1"),
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
