"""GET /api/v1/statistics: real reports, alerts and members counted, small numbers hidden."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.crypto import Crypto
from app.reports import service as reports_service
from app.reports.models import Report, ReportCreate
from tests.conftest import Outreach, Team
from tests.helpers import publish_alert, report_body
from tests.test_org_pages import log_in

ASSEN, GRONINGEN = "GM0106", "GM0014"  # in Drenthe (NL-DR) and Groningen (NL-GR)
JANUARY = datetime(2026, 1, 10, 14, tzinfo=UTC)
FEBRUARY = datetime(2026, 2, 3, 9, tzinfo=UTC)


def file(
    session: Session,
    crypto: Crypto,
    *,
    region: str,
    at: datetime,
    status: str,
    hours: int = 0,
    categories: tuple[str, ...] = ("physical_violence",),
) -> None:
    """A report that arrived at `at` and is now `status`, decided `hours` later."""
    data = ReportCreate.model_validate(
        report_body(region=region, categories=list(categories), incident_date="2025-12-30")
    )
    report_id, _ = reports_service.submit(session, data=data, crypto=crypto, default_region="NL")
    report = session.get(Report, report_id)
    assert report is not None
    report.submitted_at = at
    report.status = status
    report.decided_at = at + timedelta(hours=hours) if hours else None
    session.add(report)
    session.commit()


def a_quarter_of_reports(session: Session, crypto: Crypto) -> None:
    for hours in (2, 4, 6, 8, 10, 12):
        file(session, crypto, region=ASSEN, at=JANUARY, status="published", hours=hours)
    for _ in range(2):
        file(session, crypto, region=ASSEN, at=JANUARY, status="rejected", hours=1)
    for _ in range(5):
        file(session, crypto, region=GRONINGEN, at=JANUARY, status="published", hours=30)
    file(session, crypto, region=GRONINGEN, at=FEBRUARY, status="submitted")


def statistics(client: TestClient, headers: dict[str, str], **query: str) -> Any:
    response = client.get("/api/v1/statistics", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response


def rows_of(body: dict[str, Any], table: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["region"], r["month"]): r["counts"] for r in body["tables"][table]["rows"]}


def test_reports_by_province_and_month_with_small_counts_hidden(
    client: TestClient,
    session: Session,
    crypto: Crypto,
    team: Team,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    a_quarter_of_reports(session, crypto)
    body = statistics(client, auth(team.bob), **{"from": "2026-01", "to": "2026-03"}).json()
    assert (body["k"], body["from"], body["to"], body["level"]) == (
        5,
        "2026-01",
        "2026-03",
        "province",
    )
    reports = rows_of(body, "reports")
    assert reports[("NL-DR", "2026-01")] == {
        "published": 6, "rejected": "<5", "duplicate": 0, "withdrawn": 0, "open": 0,
        "received": None,  # 6 + "<5": would give the small one away
    }  # fmt: skip
    assert reports[("NL-GR", "2026-01")]["published"] == 5
    assert reports[("NL-GR", "2026-01")]["received"] == 5
    assert reports[("NL-GR", "2026-02")]["open"] == "<5"
    names = {r["region"]: r["region_name"] for r in body["tables"]["reports"]["rows"]}
    assert names["NL-DR"] == "Drenthe"
    total = body["tables"]["reports"]["total"]
    assert total["published"] == 11 and total["rejected"] is None and total["received"] is None
    medians = {m["region"]: m["hours"] for m in body["median_hours_to_decision"]}
    assert medians["NL-DR"] == 5.0, "eight decisions: the median of 1,1,2,4,6,8,10,12"
    assert medians["NL-GR"] == 30.0
    assert medians["all"] == 10.0, "the 7th of 13: 1,1,2,4,6,8,10,12,30,30,30,30,30"


def test_by_municipality_and_as_csv(
    client: TestClient,
    session: Session,
    crypto: Crypto,
    team: Team,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    a_quarter_of_reports(session, crypto)
    query = {"from": "2026-01", "to": "2026-01", "level": "municipality"}
    body = statistics(client, auth(team.bob), **query).json()
    assert rows_of(body, "reports")[(ASSEN, "2026-01")]["published"] == 6
    response = statistics(client, auth(team.bob), **query, format="csv")
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    figure = {
        (line["table"], line["region"], line["month"], line["column"]): line["value"]
        for line in lines
    }
    assert figure[("reports", ASSEN, "2026-01", "published")] == "6"
    assert figure[("reports", ASSEN, "2026-01", "rejected")] == "<5"
    assert figure[("reports", ASSEN, "2026-01", "received")] == ""
    assert figure[("reports", GRONINGEN, "2026-01", "received")] == "5"


def test_alerts_and_members_are_counted(
    client: TestClient,
    session: Session,
    crypto: Crypto,
    team: Team,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    for _ in range(5):
        publish_alert(session, crypto, [ASSEN])
    publish_alert(session, crypto, [GRONINGEN])
    month = datetime.now(UTC).strftime("%Y-%m")
    body = statistics(client, auth(team.bob), **{"from": month, "to": month}).json()
    alerts = rows_of(body, "alerts")
    assert alerts[("NL-DR", month)] == {"published": 5}
    assert alerts[("NL-GR", month)] == {"published": "<5"}
    assert body["tables"]["alerts"]["totals_by_month"] == [], "an alert may be in two provinces"


def test_bad_periods_and_levels_are_named(
    client: TestClient, team: Team, auth: Callable[[Any], dict[str, str]]
) -> None:
    headers = auth(team.bob)
    for query, field in [
        ({"from": "2026-13", "to": "2026-12"}, "from"),
        ({"from": "2026-01-05", "to": "2026-12"}, "from"),
        ({"from": "2026-06", "to": "2026-01"}, "to"),
        ({"from": "2020-01", "to": "2026-01"}, "to"),
        ({"from": "2026-01", "to": "2026-02", "level": "street"}, "level"),
    ]:
        response = client.get("/api/v1/statistics", params=query, headers=headers)
        assert response.status_code == 422, query
        assert field in str(response.json()["detail"]), (query, response.json())


def test_only_admins_see_the_statistics(
    client: TestClient,
    team: Team,
    outreach: Outreach,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    query = {"from": "2026-01", "to": "2026-02"}
    assert client.get("/api/v1/statistics", params=query).status_code == 401
    for account in (team.alice, outreach.olga):
        response = client.get("/api/v1/statistics", params=query, headers=auth(account))
        assert response.status_code == 403


def test_the_admins_page_draws_the_charts_and_prints_the_evaluation(
    browser_like: Callable[[], TestClient], session: Session, crypto: Crypto, team: Team
) -> None:
    a_quarter_of_reports(session, crypto)
    client = browser_like()
    log_in(client, "bob")
    page = client.get("/mod/statistics", params={"from": "2026-01", "to": "2026-03"})
    assert page.status_code == 200
    assert page.text.count('<svg class="chart" role="img"') == 4
    assert "<title>Reports received, by region</title>" in page.text
    assert "&lt;5" in page.text and "Drenthe" in page.text
    assert "https://" not in page.text.split("<main>")[1], "nothing fetched from elsewhere"
    bad = client.get("/mod/statistics", params={"from": "2026-1", "to": "2026-03"})
    assert bad.status_code == 422 and "from" in bad.text
    csv_file = client.get("/mod/statistics.csv", params={"from": "2026-01", "to": "2026-03"})
    assert csv_file.text.startswith("table,region,region_name,month,column,value")
    evaluation = client.get("/mod/statistics/evaluation", params={"year": "2026"})
    assert evaluation.status_code == 200 and "evaluation of 2026" in evaluation.text

    moderator = browser_like()
    log_in(moderator, "alice")
    assert moderator.get("/mod/statistics").status_code == 403


def test_the_public_page_is_off_unless_turned_on_and_shows_suppressed_figures(
    make_client: Callable[..., TestClient],
    make_settings: Callable[..., Any],
    settings: Any,
    session: Session,
    crypto: Crypto,
) -> None:
    a_quarter_of_reports(session, crypto)
    with make_client(settings) as client:
        assert client.get("/nl/statistics").status_code == 404
    turned_on = settings.model_copy(update={"statistics_public": True})
    with make_client(turned_on) as client:
        page = client.get("/nl/statistics", params={"year": "2026"})
        assert page.status_code == 200
        assert "Geweld tegen sekswerkers in 2026" in page.text
        assert page.text.count('<svg class="chart"') == 4
        assert "<title>Meldingen per provincie</title>" in page.text
        assert "jan 2026" in page.text, "months as Dutch writes them"
        assert "&lt;5" in page.text or "<5" in page.text
        english = client.get("/en/statistics", params={"year": "2026"})
        assert "Reports, by province" in english.text


def test_client_checks_and_hits_are_counted_by_month(
    make_client: Callable[..., TestClient],
    settings: Any,
    session: Session,
    crypto: Crypto,
    team: Team,
    auth: Callable[[Any], dict[str, str]],
) -> None:
    publish_alert(session, crypto)  # names +31612345678
    open_checks = settings.model_copy(update={"check_access": "open"})
    with make_client(open_checks) as client:
        for number in ["+31612345678"] * 5 + ["+31687654321"]:
            assert client.post("/api/v1/check", json={"number": number}).status_code == 200
        month = datetime.now(UTC).strftime("%Y-%m")
        body = statistics(client, auth(team.bob), **{"from": month, "to": month}).json()
    assert rows_of(body, "checks")[("NL", month)] == {"checks": 6, "hits": 5}
