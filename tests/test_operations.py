"""What an operator relies on: health, readiness, metrics, and a clear 503 when the
database is gone, recovering by itself when it is back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from app.db import make_engine
from app.main import create_app
from app.migrate import downgrade
from app.settings import Settings
from tests.conftest import TestDatabase
from tests.fakes import TcpGate
from tests.helpers import report_body

TOKEN = "metrics-token-" + "x" * 20


def test_ready_when_the_database_answers_at_this_schema(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "migrations": "head"}


def test_not_ready_until_migrated(
    database: TestDatabase, make_settings: Callable[..., Settings]
) -> None:
    url = database.fresh()
    engine = make_engine(url)
    downgrade(engine, "-1")
    engine.dispose()
    with TestClient(create_app(make_settings(database_url=url))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "run redflag migrate" in ready.json()["migrations"]
        assert client.get("/healthz").status_code == 200


def test_metrics_are_off_without_a_token_and_need_it(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings]
) -> None:
    with make_client(make_settings(database_url="sqlite://")) as off:
        assert off.get("/metrics").status_code == 404
    with make_client(make_settings(database_url="sqlite://", metrics_token=TOKEN)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "y" * 34})
        assert wrong.status_code == 401
        client.post("/api/v1/reports", json=report_body())
        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    text = scraped.text
    assert 'redflag_reports{status="submitted"} 1.0' in text
    assert 'redflag_deliveries{status="pending"} 0.0' in text
    assert "redflag_queue_oldest_seconds" in text
    assert "redflag_deliveries_due 0.0" in text
    assert "# TYPE redflag_provider_send_seconds histogram" in text
    # Counts only: neither the report's words nor the number it names (in any spelling).
    assert "He grabbed" not in text, "report text in metrics"
    assert "491570156" not in text.replace(" ", ""), "perpetrator number in metrics"


def test_a_token_shorter_than_24_characters_is_refused(
    make_settings: Callable[..., Settings],
) -> None:
    from app.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="REDFLAG_METRICS_TOKEN must be at least 24"):
        load_settings(**{**make_settings().model_dump(), "metrics_token": "short"})


def test_without_its_database_the_service_says_so_and_recovers_by_itself(
    gated: tuple[str, TcpGate], make_settings: Callable[..., Settings]
) -> None:
    url, gate = gated
    with TestClient(create_app(make_settings(database_url=url))) as client:
        assert client.post("/api/v1/reports", json=report_body()).status_code == 201

        gate.shut()
        assert client.get("/healthz").status_code == 200, "alive, just not ready"
        ready = client.get("/readyz")
        assert (ready.status_code, ready.json()["database"]) == (503, "unreachable")
        refused = client.post("/api/v1/reports", json=report_body())
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "30"
        assert "Nothing was saved" in refused.json()["detail"]
        assert "Traceback" not in refused.text and "psycopg" not in refused.text
        page = client.post("/en/report", data={"region": "GM0106"})
        assert page.status_code == 503
        assert "Nothing you sent was kept" in page.text
        assert page.headers["content-security-policy"], "still a page of ours"

        gate.open()
        assert client.get("/readyz").status_code == 200
        assert client.post("/api/v1/reports", json=report_body()).status_code == 201
