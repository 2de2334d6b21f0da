"""Intake benchmark: report submissions and client checks against the running app.

    .venv/bin/python -m bench.intake                   # PostgreSQL from REDFLAG_TEST_DATABASE_URL
    .venv/bin/python -m bench.intake --seconds 5 --levels 1,10,50

`redflag serve` runs as a process of its own (uvicorn, one process, a fresh PostgreSQL
database, rate limits raised so that none is reached but still counted, log level
WARNING); this process is the clients, on loopback, with aiohttp, each client from a
loopback address of its own (127.0.0.1, 127.0.0.2, …) as people on their own phones are.
At each level of concurrency it sends report submissions (`POST /api/v1/reports`, each
one different) for a while, then client checks (`POST /api/v1/check` with a member's
token), and prints requests per second and the 50th and 99th percentile latency. In the
same run, the ceiling: a bare insert through the same framework, session and route style
(bench/ceiling_app.py), into the same database. Target: submissions per second at least
0.7 × the ceiling's at 50 concurrent clients; p99 is reported, not targeted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import uvloop
from sqlmodel import Session

from alerts.check import members
from app.crypto import Crypto
from app.db import make_engine
from app.settings import Settings, new_jwt_secret, new_key
from bench.common import add_postgres_option, fresh_database
from tests.helpers import add_sms_subscribers, free_port, publish_alert

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.7
CATEGORIES = ["physical_violence", "robbery", "threats", "stalking", "refused_to_pay"]


@dataclass
class Run:
    endpoint: str
    concurrency: int
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    server_cpu: float = 0.0  # seconds of the serving process's CPU during the run

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu / max(1, self.requests) * 1000

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def report(n: int) -> dict[str, Any]:
    rng = random.Random(n)  # noqa: S311 (made-up reports, reproducible)
    return {
        "region": "GM0106",
        "incident_date": (date.today() - timedelta(days=rng.randint(0, 30))).isoformat(),
        "part_of_day": rng.choice(["morning", "afternoon", "evening", "night"]),
        "categories": rng.sample(CATEGORIES, 2),
        "what_happened": f"Report {n}: he refused to pay and pushed me against the door. " * 4,
        "perpetrator": {"phones": [f"06{rng.choice('12345')}{rng.randint(0, 9_999_999):07d}"]},
        "police_consent": "none",
        "language": "en",
    }


async def load(
    url: str, concurrency: int, seconds: float, make_body: Any, headers: dict[str, str]
) -> Run:
    latencies: list[float] = []
    errors = 0
    counter = 0
    deadline = time.perf_counter() + seconds

    async def one_client(address: str) -> None:
        # Each client on a loopback address of its own, as people on their own phones are:
        # the rate limiter keeps per-client counters, and one address shared by every
        # client would make it count them all in one ever longer list.
        nonlocal counter, errors
        connector = aiohttp.TCPConnector(limit=1, local_addr=(address, 0))
        async with aiohttp.ClientSession(connector=connector, headers=headers) as client:
            while time.perf_counter() < deadline:
                counter += 1
                started = time.perf_counter()
                async with client.post(url, json=make_body(counter)) as response:
                    await response.read()
                    if response.status >= 400:
                        errors += 1
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(
        *(one_client(f"127.0.{1 + i // 250}.{1 + i % 250}") for i in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    return Run(url.rsplit("/", 1)[-1], concurrency, len(latencies), elapsed, latencies, errors)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(command: list[str], env: dict[str, str], url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
    for _ in range(300):
        try:
            httpx.get(url, timeout=0.5)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{command} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per level and endpoint")
    parser.add_argument("--levels", default="1,10,50", help="concurrent clients")
    add_postgres_option(parser)
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]

    url, cleanup = fresh_database("postgres", args.postgres_url)
    keys = {"data_key": new_key(), "index_key": new_key(), "jwt_secret": new_jwt_secret()}
    settings = Settings(database_url=url, sms_provider="none", email_provider="none", **keys)
    crypto = Crypto.from_settings(settings)
    engine = make_engine(url)
    with Session(engine) as session:
        add_sms_subscribers(session, crypto, 1)  # the member who checks
        publish_alert(session, crypto, text="Pushed a worker against the door.")
    engine.dispose()
    token, _ = members.issue(1, settings)

    app_port, ceiling_port = free_port(), free_port()
    env = {f"REDFLAG_{k.upper()}": v for k, v in keys.items()} | {
        "REDFLAG_DATABASE_URL": url,
        "REDFLAG_SECRETS_FILE": "/dev/null",
        "REDFLAG_SMS_PROVIDER": "none",
        "REDFLAG_EMAIL_PROVIDER": "none",
        "REDFLAG_EMBEDDED_WORKER": "false",
        "REDFLAG_LOG_LEVEL": "WARNING",
        "REDFLAG_RATE_LIMIT_SUBMIT": "100000000/minute",
        "REDFLAG_RATE_LIMIT_LOOKUP": "100000000/minute",
        "REDFLAG_RATE_LIMIT_CHECK": "100000000/minute",
        "BENCH_DATABASE_URL": url,
    }
    app = start(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(app_port)],
        env,
        f"http://127.0.0.1:{app_port}/healthz",
    )
    ceiling = start(
        [sys.executable, "-m", "bench.ceiling_app", "--port", str(ceiling_port)],
        env,
        f"http://127.0.0.1:{ceiling_port}/docs",
    )
    runs: list[Run] = []
    try:
        base = f"http://127.0.0.1:{app_port}/api/v1"
        member = {"Authorization": f"Bearer {token}"}
        for level in levels:
            for target, body, headers in [
                (f"http://127.0.0.1:{ceiling_port}/insert", report, {}),
                (f"{base}/reports", report, {}),
                (f"{base}/check", lambda n: {"number": "06 1234 5678"}, member),
            ]:
                server = ceiling if target.endswith("/insert") else app
                cpu_before = cpu_seconds(server.pid)
                run = uvloop.run(load(target, level, args.seconds, body, headers))
                run.server_cpu = cpu_seconds(server.pid) - cpu_before
                runs.append(run)
    finally:
        for process in (app, ceiling):
            process.terminate()
            process.wait(timeout=20)
        if cleanup is not None:
            cleanup()

    print(
        f"\nintake: {args.seconds:.0f} s per run, {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}, PostgreSQL, one uvicorn process each\n"
    )
    print(
        "| endpoint | clients | requests/s | p50 (ms) | p99 (ms) | server CPU ms/request | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        print(
            f"| {run.endpoint} | {run.concurrency} | {run.rate:.0f} | {run.percentile(50):.1f} | "
            f"{run.percentile(99):.1f} | {run.cpu_ms_per_request:.2f} | {run.errors} |"
        )
    top = max(levels)
    submit = next(r for r in runs if r.endpoint == "reports" and r.concurrency == top)
    bare = next(r for r in runs if r.endpoint == "insert" and r.concurrency == top)
    ratio = submit.rate / bare.rate
    print(
        f"\nat {top} clients: submissions / ceiling {ratio:.2f} (target ≥ {TARGET_RATIO});"
        f" submission p99 {submit.percentile(99):.1f} ms, the ceiling's"
        f" {bare.percentile(99):.1f} ms"
    )


if __name__ == "__main__":
    main()
