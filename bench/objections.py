"""Objections: does the answer's timing say whether an identifier is listed?

    .venv/bin/python -m bench.objections                 # PostgreSQL from REDFLAG_TEST_DATABASE_URL
    .venv/bin/python -m bench.objections --requests 40 --database sqlite

A fresh database with alerts naming `--requests` phone numbers; then, interleaved, an
objection about each listed number and about as many numbers that are listed nowhere
(`POST /api/v1/objections`), and a status read of each (`GET /api/v1/objections/status`),
through the app in this process (Starlette's test client: no network in between, so what
differs is the app's own work). Prints the median of each group and their difference.
Target (issue 15): medians within 20 ms of each other over 20 requests; the body and
status are compared too, and must be the same but for the case code and its deadline.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from alerts import service as alerts_service
from alerts.models import Severity
from app.crypto import Crypto
from app.db import make_engine, utcnow
from app.main import create_app
from app.settings import Settings, new_jwt_secret, new_key
from bench.common import add_postgres_option, fresh_database

TARGET_MS = 20.0
PER_ALERT = 10


def numbers(start: int, n: int) -> list[str]:
    return [f"+3161{start + i:07d}" for i in range(n)]


def list_numbers(url: str, crypto: Crypto, listed: list[str]) -> None:
    from datetime import date, timedelta

    engine = make_engine(url)
    with Session(engine) as session:
        for i in range(0, len(listed), PER_ALERT):
            alerts_service.create(
                session,
                draft=alerts_service.AlertDraft(
                    text="Bench alert.",
                    severity=Severity.high,
                    region_codes=["GM0106"],
                    categories=["physical_violence"],
                    identifiers=[("phone", n) for n in listed[i : i + PER_ALERT]],
                    incident_date=date.today(),
                    part_of_day="night",
                    expires_at=utcnow() + timedelta(days=30),
                ),
                crypto=crypto,
                needs_approval=False,
            )
        session.commit()
    engine.dispose()


def timed(call: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    response = call()
    return (time.perf_counter() - started) * 1000, response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    add_postgres_option(parser)
    args = parser.parse_args()
    url, cleanup = fresh_database(args.database, args.postgres_url)
    settings = Settings(
        database_url=url,
        data_key=new_key(),
        index_key=new_key(),
        jwt_secret=new_jwt_secret(),
        rate_limit_submit="100000/minute",
        rate_limit_lookup="100000/minute",
    )
    listed, unlisted = numbers(0, args.requests), numbers(5_000_000, args.requests)
    list_numbers(url, Crypto.from_settings(settings), listed)
    times: dict[str, list[float]] = {"listed": [], "unlisted": []}
    reads: dict[str, list[float]] = {"listed": [], "unlisted": []}
    answers: dict[str, set[str]] = {"listed": set(), "unlisted": set()}
    try:
        with TestClient(create_app(settings)) as client:
            client.post("/api/v1/objections", json=body(numbers(9_000_000, 1)[0]))  # warm up
            for pair in zip(listed, unlisted, strict=True):
                for group, number in zip(("listed", "unlisted"), pair, strict=True):
                    ms, sent = timed(
                        lambda n=number: client.post("/api/v1/objections", json=body(n))
                    )
                    times[group].append(ms)
                    code = sent.json()["case_code"]
                    ms, read = timed(
                        lambda c=code: client.get(
                            "/api/v1/objections/status", headers={"X-Case-Code": c}
                        )
                    )
                    reads[group].append(ms)
                    seen = {k: v for k, v in read.json().items() if k != "deadline"}
                    answers[group].add(
                        f"{sent.status_code} {sorted(sent.json())} {read.status_code} {seen}"
                    )
    finally:
        if cleanup:
            cleanup()
    report(times, "POST /api/v1/objections")
    report(reads, "GET /api/v1/objections/status")
    same = answers["listed"] == answers["unlisted"] and len(answers["listed"]) == 1
    print(f"answers the same for listed and unlisted: {'yes' if same else 'NO'}")


def body(number: str) -> dict[str, str]:
    return {"kind": "phone", "value": number, "reason": "Not me.", "language": "nl"}


def report(times: dict[str, list[float]], what: str) -> None:
    listed, unlisted = statistics.median(times["listed"]), statistics.median(times["unlisted"])
    difference = abs(listed - unlisted)
    print(
        f"{what}: median listed {listed:.2f} ms, unlisted {unlisted:.2f} ms over "
        f"{len(times['listed'])} each; difference {difference:.2f} ms "
        f"({difference / TARGET_MS:.2f} x the {TARGET_MS:.0f} ms allowed): "
        f"{'met' if difference <= TARGET_MS else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
