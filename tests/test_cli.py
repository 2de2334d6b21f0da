"""The `redflag` command as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from app.crypto import FieldCipher
from app.db import make_engine
from app.reports.models import PURPOSE_TEXT, Report
from app.settings import new_key
from tests.conftest import TestDatabase
from tests.helpers import ROOT


def redflag(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REDFLAG_")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {
        "REDFLAG_DATABASE_URL": f"sqlite:///{tmp_path / 'redflag.db'}",
        "REDFLAG_SECRETS_FILE": str(tmp_path / "secrets.env"),
    }


def test_migrate_and_demo_data_from_nothing(sqlite_env: dict[str, str], tmp_path: Path) -> None:
    first = redflag("migrate", env=sqlite_env)
    assert first.returncode == 0, first.stderr
    assert "regions: 355 added" in first.stdout
    assert (tmp_path / "secrets.env").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "redflag.db").stat().st_mode & 0o777 == 0o600

    again = redflag("migrate", env=sqlite_env)
    assert again.returncode == 0
    assert "regions:" not in again.stdout

    demo = redflag("demo-data", env=sqlite_env)
    assert demo.returncode == 0, demo.stderr
    assert "added 4 demo reports" in demo.stdout
    assert "moderator demo-admin, password " in demo.stdout
    again = redflag("demo-data", env=sqlite_env).stdout
    assert again.strip() == "demo reports are already there", (
        "nothing twice, no password shown again"
    )


def test_production_refuses_to_start_without_secrets(sqlite_env: dict[str, str]) -> None:
    result = redflag("serve", env={**sqlite_env, "REDFLAG_ENV": "production"})
    assert result.returncode == 2
    assert "redflag cannot start with this configuration" in result.stderr
    assert "REDFLAG_DATA_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_data_refuses_production(sqlite_env: dict[str, str]) -> None:
    keys = redflag("keygen", env={}).stdout.splitlines()
    env = dict(line.split("=", 1) for line in keys)
    result = redflag(
        "demo-data",
        env={
            **sqlite_env,
            **env,
            "REDFLAG_VAPID_SUBJECT": "mailto:ops@x.org",  # keygen's VAPID pair needs one
            "REDFLAG_ENV": "production",
            "REDFLAG_PUBLIC_URL": "https://x.org",
            "REDFLAG_SMS_PROVIDER": "none",
            "REDFLAG_EMAIL_PROVIDER": "none",
        },
    )
    assert result.returncode == 2
    assert "refuses" in result.stderr


def test_a_bad_region_file_is_explained(sqlite_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "regions.json"
    bad.write_text('{"regions": [{"code": "X", "name": "X", "level": "planet"}]}')
    result = redflag("migrate", "--regions", str(bad), env=sqlite_env)
    assert result.returncode == 2
    assert "regions.0.level" in result.stderr
    assert "Traceback" not in result.stderr


def test_rotating_the_data_key(database: TestDatabase, tmp_path: Path) -> None:
    url = database.fresh()
    old, new, index = new_key(), new_key(), new_key()
    base = {
        "REDFLAG_DATABASE_URL": url,
        "REDFLAG_INDEX_KEY": index,
        "REDFLAG_JWT_SECRET": "a" * 8 + "0123456789abcdef" * 4,
        "REDFLAG_SECRETS_FILE": str(tmp_path / "unused.env"),
    }
    assert redflag("demo-data", env={**base, "REDFLAG_DATA_KEY": old}).returncode == 0

    rotated = redflag(
        "reencrypt", env={**base, "REDFLAG_DATA_KEY": new, "REDFLAG_OLD_DATA_KEYS": old}
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "report.what_happened_enc: 4 re-encrypted" in rotated.stdout

    import base64

    only_new = FieldCipher(base64.b64decode(new))
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            texts = [
                only_new.decrypt(r.what_happened_enc, purpose=PURPOSE_TEXT)
                for r in session.exec(select(Report)).all()
                if r.what_happened_enc
            ]
    finally:
        engine.dispose()
    assert len(texts) == 4
    assert all(texts)

    again = redflag(
        "reencrypt", env={**base, "REDFLAG_DATA_KEY": new, "REDFLAG_OLD_DATA_KEYS": old}
    )
    assert "report.what_happened_enc: 0 re-encrypted" in again.stdout


def test_create_moderator_reads_the_password_from_stdin(sqlite_env: dict[str, str]) -> None:
    assert redflag("migrate", env=sqlite_env).returncode == 0
    created = subprocess.run(
        [sys.executable, "-m", "app.cli", "create-moderator", "Anna", "--role", "admin"],
        input="a very long password\n",
        env={**{k: v for k, v in os.environ.items() if not k.startswith("REDFLAG_")}, **sqlite_env},
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created admin anna"
    weak = subprocess.run(
        [sys.executable, "-m", "app.cli", "create-moderator", "ben"],
        input="short\n",
        env={**{k: v for k, v in os.environ.items() if not k.startswith("REDFLAG_")}, **sqlite_env},
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert weak.returncode == 2 and "at least 12 characters" in weak.stderr


def test_the_worker_command_sends_what_is_due(
    database: TestDatabase, delivery_settings: Any, twilio: Any, tmp_path: Path
) -> None:
    from datetime import date, timedelta

    from alerts import service as alerts_service
    from alerts.models import Severity
    from alerts.subscriptions import service as subscriptions
    from app.crypto import Crypto
    from app.db import utcnow

    url = database.fresh()
    settings = delivery_settings(database_url=url)
    crypto = Crypto.from_settings(settings)
    engine = make_engine(url)
    with Session(engine) as session:
        member = subscriptions._new_subscriber(
            session, channel="sms", contact="+31612340000", language="en", crypto=crypto
        )
        member.confirmed_at = utcnow()
        member.membership = "verified"
        subscriptions.set_regions(session, subscriber=member, codes=["GM0106"], replace=True)
        alerts_service.create(
            session,
            draft=alerts_service.AlertDraft(
                text="x",
                severity=Severity.low,
                region_codes=["GM0106"],
                categories=["other"],
                identifiers=[],
                incident_date=date.today(),
                part_of_day=None,
                expires_at=utcnow() + timedelta(days=1),
            ),
            crypto=crypto,
            needs_approval=False,
        )
        session.commit()
    engine.dispose()
    env = {
        f"REDFLAG_{name.upper()}": str(
            value.get_secret_value() if hasattr(value, "get_secret_value") else value
        )
        for name, value in settings.model_dump().items()
        if value is not None and name not in {"embedded_worker"}
    }
    result = redflag("worker", "--once", env=env)
    assert result.returncode == 0, result.stderr
    assert [m["to"] for m in twilio.messages] == ["+31612340000"]


def test_purge_applies_the_retention_policy(sqlite_env: dict[str, str]) -> None:
    assert redflag("migrate", env=sqlite_env).returncode == 0
    assert redflag("demo-data", env=sqlite_env).returncode == 0
    result = redflag("purge", env={**sqlite_env, "REDFLAG_RETENTION_DAYS": "1"})
    assert result.returncode == 0, result.stderr
    assert "report texts purged: 0" in result.stdout, "demo reports are not decided"
    assert "delivery rows pruned: 0" in result.stdout
    refused = redflag("purge", env={**sqlite_env, "REDFLAG_RETENTION_DAYS": "0"})
    assert refused.returncode == 2
    assert "REDFLAG_RETENTION_DAYS must be at least 1" in refused.stderr


def test_in_development_links_in_emails_lead_to_the_port_it_serves_on(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    import sqlite3
    import time

    import httpx

    from tests.helpers import start_server_process

    assert redflag("migrate", env=sqlite_env).returncode == 0
    server = start_server_process(
        {**sqlite_env, "REDFLAG_EMAIL_PROVIDER": "console", "REDFLAG_SMS_PROVIDER": "none"}
    )
    try:
        answer = httpx.post(
            f"{server.url}/api/v1/subscriptions",
            json={"channel": "email", "contact": "anna@example.org", "regions": ["GM0106"]},
        )
        assert answer.status_code == 202, answer.text
        database = sqlite3.connect(tmp_path / "redflag.db")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the server's own worker sends it
            if database.execute("select 1 from delivery where status = 'sent'").fetchone():
                break
            time.sleep(0.2)
        database.close()
    finally:
        output = server.stop()
    assert f"links in messages lead to {server.url}" in output
    assert f"{server.url}/nl/subscribe/confirm?t=" in output, output


def test_a_public_url_that_is_set_is_kept(make_settings: Any) -> None:
    from app.settings import development_public_url

    assert make_settings().public_url == "http://127.0.0.1:8000", "the default: not set"
    follows = development_public_url(make_settings(), host="0.0.0.0", port=8765)  # noqa: S104
    assert follows == "http://127.0.0.1:8765"
    assert development_public_url(make_settings(), host="::1", port=8765) == "http://[::1]:8765"
    chosen = make_settings(public_url="https://tunnel.example.org")
    assert development_public_url(chosen, host="127.0.0.1", port=8765) is None
    production = make_settings(env="production", public_url="https://alerts.example.org")
    assert development_public_url(production, host="127.0.0.1", port=8765) is None
