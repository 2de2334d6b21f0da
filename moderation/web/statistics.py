"""For admins: /mod/statistics (charts and tables, small numbers hidden), its CSV, and the
yearly evaluation to print for the permit authority and the municipalities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.db import utcnow
from app.deps import SessionDep, SettingsDep
from app.errors import FieldError, InvalidInput
from app.web import refuse
from moderation.statistics import charts, service
from moderation.statistics.measures import Level
from moderation.statistics.router import StatisticsOut, as_csv, as_output
from moderation.web.session import ModSession, ModSessionDep, admin_only, render

router = APIRouter(prefix="/mod")


@dataclass(frozen=True)
class Asked:
    first: str
    last: str
    level: Level


def _query(first: str | None, last: str | None, level: str) -> Asked:
    this_month = utcnow().strftime("%Y-%m")
    if level not in ("province", "municipality"):
        raise InvalidInput([FieldError(("level",), "invalid_level", "province or municipality")])
    return Asked(first or this_month[:4] + "-01", last or this_month, level)  # type: ignore[arg-type]


def _statistics(session: SessionDep, settings: SettingsDep, query: Asked) -> StatisticsOut:
    window = service.parse_period(query.first, query.last)
    return as_output(
        service.build(
            session,
            window=window,
            level=query.level,
            k=settings.statistics_k,
            country=settings.default_country,
        )
    )


def _charts(stats: StatisticsOut) -> list[tuple[str, str]]:
    """(title, svg) for the page: over time, by category, by region."""
    k = stats.k

    reports = stats.tables["reports"]
    categories = stats.tables["categories"]
    alerts = stats.tables["alerts"]
    drawn = [
        (
            "Reports received, by month",
            [(r.month, r.counts["received"]) for r in reports.totals_by_month],
        ),
        (
            "Reports by category",
            [(c.replace("_", " "), categories.total.get(c)) for c in categories.columns],
        ),
        (
            "Reports received, by region",
            [(r.region_name, r.counts["received"]) for r in reports.totals_by_region],
        ),
        (
            "Alerts published, by region",
            [(r.region_name, r.counts["published"]) for r in alerts.totals_by_region],
        ),
    ]
    return [
        (title, charts.bar_chart(title, [charts.Bar(*bar) for bar in bars], k=k))
        for title, bars in drawn
    ]


def _page(
    request: Request,
    ms: ModSession,
    session: SessionDep,
    settings: SettingsDep,
    query: Asked,
    *,
    template: str,
) -> HTMLResponse:
    try:
        stats = _statistics(session, settings, query)
    except InvalidInput as exc:
        refuse(render(request, ms, template, status=422, error=exc.message, query=query))
    return render(
        request,
        ms,
        template,
        section="statistics",
        error=None,
        query=query,
        stats=stats,
        charts=_charts(stats),
        printed=utcnow().date().isoformat(),
    )


@router.get("/statistics")
def statistics_page(
    request: Request,
    ms: ModSessionDep,
    session: SessionDep,
    settings: SettingsDep,
    from_: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    to: Annotated[str | None, Query(max_length=7)] = None,
    level: str = "province",
) -> HTMLResponse:
    admin_only(ms)
    return _page(
        request, ms, session, settings, _query(from_, to, level), template="mod_statistics.html"
    )


@router.get("/statistics.csv")
def statistics_csv(
    request: Request,
    ms: ModSessionDep,
    session: SessionDep,
    settings: SettingsDep,
    from_: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    to: Annotated[str | None, Query(max_length=7)] = None,
    level: str = "province",
) -> Response:
    admin_only(ms)
    query = _query(from_, to, level)
    return Response(
        as_csv(_statistics(session, settings, query)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="statistics.csv"'},
    )


@router.get("/statistics/evaluation")
def evaluation_page(
    request: Request,
    ms: ModSessionDep,
    session: SessionDep,
    settings: SettingsDep,
    year: int | None = None,
) -> HTMLResponse:
    """The year's figures by province on pages to print (A4)."""
    admin_only(ms)
    chosen = year or utcnow().year - 1
    query = Asked(f"{chosen:04d}-01", f"{chosen:04d}-12", "province")
    return _page(request, ms, session, settings, query, template="mod_evaluation.html")
