"""GET /api/v1/statistics: the suppressed tables as JSON or CSV, for admins."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.deps import SessionDep, SettingsDep
from moderation.deps import require_admin
from moderation.statistics import service
from moderation.statistics.measures import Level
from moderation.statistics.suppression import Figure, Published

router = APIRouter(tags=["statistics"])

WITHHELD = (
    'A count from 1 to k-1 shows as "<k"; a total is null where it would let a small count be'
    " worked out. Regions and months without rows had none."
)


class Row(BaseModel):
    region: str
    region_name: str
    month: str = Field(description='"YYYY-MM", or "all" for a total over the period')
    counts: dict[str, Figure]


class Table(BaseModel):
    columns: list[str]
    rows: list[Row] = Field(description="Each region and month with anything to count")
    totals_by_region: list[Row] = Field(description="Over the period; month is 'all'")
    totals_by_month: list[Row] = Field(
        description="Over the regions; empty where one thing counts in several regions"
    )
    total: dict[str, Figure]


class Median(BaseModel):
    region: str = Field(description='"all" for every region')
    region_name: str
    hours: float | None = Field(description="null under k decisions")


class StatisticsOut(BaseModel):
    k: int
    from_: str = Field(alias="from")
    to: str
    level: Level
    note: str = WITHHELD
    tables: dict[str, Table]
    median_hours_to_decision: list[Median]


def as_output(stats: service.Statistics) -> StatisticsOut:
    def name(code: str) -> str:
        return stats.names.get(code, code)

    def table(p: Published) -> Table:
        return Table(
            columns=list(p.columns),
            rows=[Row(region=r, region_name=name(r), month=m, counts=c) for r, m, c in p.rows],
            totals_by_region=[
                Row(region=r, region_name=name(r), month="all", counts=c) for r, c in p.by_region
            ],
            totals_by_month=[
                Row(region="all", region_name="all", month=m, counts=c) for m, c in p.by_month
            ],
            total=p.overall,
        )

    return StatisticsOut.model_validate(
        {
            "k": stats.k,
            "from": stats.period.months[0],
            "to": stats.period.months[-1],
            "level": stats.level,
            "tables": {p.name: table(p) for p in stats.tables},
            "median_hours_to_decision": [
                Median(region=r or "all", region_name=name(r) if r else "all", hours=h)
                for r, h in stats.median_hours.items()
            ],
        }
    )


def as_csv(out: StatisticsOut) -> str:
    """One line per figure: table, region, region name, month, column, value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["table", "region", "region_name", "month", "column", "value"])
    for name, table in out.tables.items():
        every = [*table.rows, *table.totals_by_region, *table.totals_by_month]
        if table.total:
            every.append(Row(region="all", region_name="all", month="all", counts=table.total))
        for row in every:
            for column in table.columns:
                value = row.counts.get(column)
                shown = "" if value is None else value
                writer.writerow([name, row.region, row.region_name, row.month, column, shown])
    return buffer.getvalue()


@router.get(
    "/statistics",
    summary="Counts for evaluation and municipalities, small numbers suppressed (admins)",
    dependencies=[Depends(require_admin)],
    response_model=StatisticsOut,
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"},
        401: {"description": "No token, or an invalid or expired one"},
        403: {"description": "Not an admin"},
        422: {"description": "`from`, `to` or `level` is wrong; `detail` names it"},
    },
)
def statistics(
    session: SessionDep,
    settings: SettingsDep,
    from_: Annotated[str, Query(alias="from", max_length=7, description="YYYY-MM")],
    to: Annotated[str, Query(max_length=7, description="YYYY-MM, included")],
    level: Level = "province",
    format: Literal["json", "csv"] = "json",
) -> Response | StatisticsOut:
    window = service.parse_period(from_, to)
    stats = service.build(
        session,
        window=window,
        level=level,
        k=settings.statistics_k,
        country=settings.default_country,
    )
    out = as_output(stats)
    if format == "csv":
        return Response(
            as_csv(out),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="statistics.csv"'},
        )
    return out
