"""/{lang}/statistics: the suppressed figures by province for anyone, when the deployment
turns it on (REDFLAG_STATISTICS_PUBLIC); off by default."""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.db import utcnow
from app.deps import PagesDep, SessionDep, SettingsDep
from app.errors import NotFound
from app.i18n import Translator
from app.reports.models import Language
from moderation.statistics import charts, service

router = APIRouter(include_in_schema=False)


@router.get("/{lang}/statistics")
def public_statistics(
    lang: Language,
    session: SessionDep,
    settings: SettingsDep,
    pages: PagesDep,
    year: int | None = None,
) -> HTMLResponse:
    """A calendar year (this one by default), by province, as the admins see it."""
    if not settings.statistics_public:
        raise NotFound("This page does not exist.")
    this_year = utcnow().year
    chosen = year if year and 2000 <= year <= this_year else this_year
    window = service.parse_period(f"{chosen}-01", f"{chosen}-12")
    stats = service.build(
        session,
        window=window,
        level="province",
        k=settings.statistics_k,
        country=settings.default_country,
    )
    t = Translator(lang.value)
    tables = {p.name: p for p in stats.tables}
    reports, categories, alerts = tables["reports"], tables["categories"], tables["alerts"]
    name = stats.names.get
    drawn = [
        (
            t("stats.by_month"),
            [(_month(lang.value, m), figures["received"]) for m, figures in reports.by_month],
        ),
        (
            t("stats.by_category"),
            [(t(f"category.{c}"), categories.overall.get(c)) for c in categories.columns],
        ),
        (
            t("stats.by_province"),
            [
                (name(r, r), f["received"])
                for r, f in reports.by_region
                if r != settings.default_country
            ],
        ),
        (
            t("stats.alerts_by_province"),
            [(name(r, r), f["published"]) for r, f in alerts.by_region],
        ),
    ]
    return pages.render(
        "statistics.html",
        lang=lang.value,
        page="statistics",
        year=chosen,
        years=list(range(this_year, max(2000, this_year - 5), -1)),
        k=stats.k,
        charts=[
            (title, charts.bar_chart(title, [charts.Bar(*b) for b in bars], k=stats.k))
            for title, bars in drawn
        ],
    )


def _month(lang: str, month: str) -> str:
    """ "2026-01" as the language writes a month: "jan 2026", "Jan 2026", "ene 2026"."""
    year, number = (int(part) for part in month.split("-"))
    return format_skeleton("yMMM", date(year, number, 1), locale=lang)
