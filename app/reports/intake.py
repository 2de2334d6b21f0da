"""The API's intake on PostgreSQL: reports stored by group commit on the event loop.

service.submit stores one report through a worker thread and the request's session; it
serves the web form and SQLite. On PostgreSQL the API does the same without a thread:
the event loop's own connections (app.db.make_loop_pool), and reports that arrive
together stored together (app.groupcommit), each batch in one statement —

    WITH r AS (INSERT INTO report … SELECT … FROM unnest(<one array per column>)
               WHERE <the region is a municipality in use> RETURNING id, receipt_hash),
         i AS (INSERT INTO report_identifier … SELECT r.id, … FROM r JOIN unnest(…))
    SELECT receipt_hash FROM r

so a report and its identifiers are stored together or not at all, and a report whose
region is not in use is not stored (no row comes back for it). Both paths prepare a
report the same way (service.prepare) and store the same rows (tests/test_intake_on_the_loop.py).
"""

from __future__ import annotations

import json
from enum import Enum
from functools import cache
from typing import Any, NamedTuple

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import LargeBinary, String, any_, bindparam, func, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import psycopg as postgresql_psycopg
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeEngine
from sqlmodel import col, select

from app.crypto import Crypto
from app.errors import InvalidInput
from app.groupcommit import GroupCommit
from app.regions import service as regions_service
from app.reports.models import Report, ReportCreate, ReportIdentifier
from app.reports.service import REPORT_COLUMNS, UNKNOWN_REGION, Prepared, prepare, refused

Intake = GroupCommit[Prepared, bool]


def make_intake(pool: AsyncConnectionPool) -> Intake:
    """The API's intake on `pool`, which must be open; one per event loop, like the pool."""
    return GroupCommit(pool, _store)


async def submit(intake: Intake, *, data: ReportCreate, crypto: Crypto, default_region: str) -> str:
    """service.submit for the API on PostgreSQL: validate, encrypt, store with whatever
    else is arriving; the receipt code, shown once."""
    prepared = prepare(data, crypto, default_region)
    if prepared.errors:
        async with intake.pool.connection() as connection:
            region = {"region_code": prepared.report["region_code"]}
            in_use = await connection.execute(*_on_postgresql(_region_in_use(), region))
            known = (await in_use.fetchone() or (False,))[0]
        raise refused(prepared.errors, region_known=known)
    if not await intake.put(prepared):
        raise InvalidInput([UNKNOWN_REGION])
    return prepared.code


# A report's receipt hash is unique (migrations: the initial schema).
_RECEIPT_UNIQUE = "uq_report_receipt_hash"


async def _store(
    connection: AsyncConnection[Any], reports: list[Prepared], retry: bool
) -> list[bool]:
    """Store reports in one statement; for each, whether its region let it in.

    On a retry (the first try's connection died before its answer came) the first try
    may have been stored. If it was, the same receipt hashes are refused now, and since a
    statement is stored whole, the reports found stored are exactly those it let in."""
    sql, params = _on_postgresql(_insert_reports(), _arrays(reports))
    try:
        cursor = await connection.execute(sql, params)
    except psycopg.errors.UniqueViolation as exc:
        if not retry or exc.diag.constraint_name != _RECEIPT_UNIQUE:
            raise
        hashes = {"receipt_hashes": [report.report["receipt_hash"] for report in reports]}
        cursor = await connection.execute(*_on_postgresql(_stored_of(), hashes))
    stored = {bytes(row[0]) for row in await cursor.fetchall()}
    return [report.report["receipt_hash"] in stored for report in reports]


def _arrays(reports: list[Prepared]) -> dict[str, list[Any]]:
    """The batch as the statement takes it: one array per column, a report's values at
    the same place in each; its identifiers' arrays name their report by receipt hash."""
    arrays: dict[str, list[Any]] = {name: [] for name in REPORT_COLUMNS}
    owners, kinds, values, indexes = [], [], [], []
    for report in reports:
        for name in REPORT_COLUMNS:
            arrays[name].append(report.report[name])
        for row in report.identifiers:
            owners.append(report.report["receipt_hash"])
            kinds.append(row["kind"])
            values.append(row["value_enc"])
            indexes.append(row["blind_index"])
    arrays["categories"] = [json.dumps(categories) for categories in arrays["categories"]]
    return arrays | {"owners": owners, "kinds": kinds, "values": values, "indexes": indexes}


def _array_of(column_type: TypeEngine[Any]) -> ARRAY[Any]:
    # Unbounded text: an explicit cast to VARCHAR(16)[] would cut a longer value short
    # where the column itself refuses it with a clear error.
    return ARRAY(String() if isinstance(column_type, String) else column_type)


@cache
def _insert_reports() -> Select[Any]:
    """The batch's statement (see the module's docstring), built once from the tables."""
    table = Report.__table__  # type: ignore[attr-defined]
    given = (
        func.unnest(
            *(bindparam(name, type_=_array_of(table.c[name].type)) for name in REPORT_COLUMNS)
        )
        .table_valued(*REPORT_COLUMNS)
        .render_derived()
    )
    in_use = select(*(given.c[name] for name in REPORT_COLUMNS)).where(
        regions_service.is_municipality(given.c.region_code)
    )
    reports = (
        insert(table)
        .from_select(REPORT_COLUMNS, in_use)
        .returning(table.c.id, table.c.receipt_hash)
        .cte("r")
    )
    identifiers = (
        func.unnest(
            bindparam("owners", type_=ARRAY(LargeBinary)),
            bindparam("kinds", type_=ARRAY(String)),
            bindparam("values", type_=ARRAY(LargeBinary)),
            bindparam("indexes", type_=ARRAY(LargeBinary)),
        )
        .table_valued("receipt_hash", "kind", "value_enc", "blind_index")
        .render_derived()
    )
    insert_identifiers = insert(ReportIdentifier.__table__).from_select(  # type: ignore[attr-defined]
        ["report_id", "kind", "value_enc", "blind_index"],
        select(
            reports.c.id, identifiers.c.kind, identifiers.c.value_enc, identifiers.c.blind_index
        ).join_from(reports, identifiers, reports.c.receipt_hash == identifiers.c.receipt_hash),
    )
    return select(reports.c.receipt_hash).add_cte(insert_identifiers.cte("i"))


@cache
def _stored_of() -> Select[Any]:
    """Which of these receipt hashes belong to a stored report."""
    given = bindparam("receipt_hashes", type_=ARRAY(LargeBinary))
    return select(Report.receipt_hash).where(col(Report.receipt_hash) == any_(given))


@cache
def _region_in_use() -> Select[Any]:
    return select(regions_service.is_municipality(bindparam("region_code", type_=String)))


class _OnPostgresql(NamedTuple):
    """A statement as psycopg runs it: its SQL with %s placeholders, the name of the value
    each one takes, and the constants the statement binds itself (e.g. the region level)."""

    sql: str
    names: tuple[str, ...]
    constants: dict[str, Any]


@cache
def _compiled(statement: Select[Any]) -> _OnPostgresql:
    compiled = statement.compile(dialect=postgresql_psycopg.dialect(paramstyle="format"))
    constants = {
        name: value.value if isinstance(value, Enum) else value
        for name, value in compiled.params.items()
        if value is not None  # None: a value each batch brings
    }
    return _OnPostgresql(str(compiled), tuple(compiled.positiontup or ()), constants)


def _on_postgresql(statement: Select[Any], values: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """What to hand psycopg's execute(): positional values, which it need not reorder."""
    sql, names, constants = _compiled(statement)
    merged = constants | values
    return sql, tuple(merged[name] for name in names)
