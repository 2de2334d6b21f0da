"""The ceiling for bench/intake.py: the least a FastAPI endpoint can do for a report,
one INSERT into PostgreSQL per request, served the same way (uvicorn, one process).

It stores on the same kind of connections as the app's API (app.db.make_loop_pool: the
event loop's own, autocommit), so the comparison is with the fastest bare endpoint, not
with a slower one: until 2026-11-23 this was a synchronous route doing its insert through
SQLAlchemy on a worker thread, which the app now beats. It does one INSERT per request,
as the issue's ceiling does; the app's group commit (app/groupcommit.py), which stores
the submissions that arrive together in one statement, is the app's own doing.

    python -m bench.ceiling_app --port 8100     # with BENCH_DATABASE_URL set

Served the way `redflag serve` serves the app: one uvicorn process, its loaded code
frozen and the young collected rarely (app.cli.freeze_what_is_loaded), so that the
garbage collector's pauses are no more the ceiling's than the app's.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from app.db import make_loop_pool

pool = make_loop_pool(os.environ["BENCH_DATABASE_URL"])
assert pool is not None, "the ceiling needs PostgreSQL"


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    await pool.open()
    async with pool.connection() as connection:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_ceiling (id serial PRIMARY KEY, body text)"
        )
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/insert", status_code=201)
async def insert(body: dict[str, Any]) -> dict[str, str]:
    async with pool.connection() as connection:
        await connection.execute("INSERT INTO bench_ceiling (body) VALUES (%s)", (str(body),))
    return {"status": "stored"}


if __name__ == "__main__":
    import argparse

    import uvicorn

    from app.cli import freeze_what_is_loaded

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8100)
    freeze_what_is_loaded("bench.ceiling_app")
    uvicorn.run(
        "bench.ceiling_app:app",
        port=parser.parse_args().port,
        log_level="warning",
        access_log=False,
    )
