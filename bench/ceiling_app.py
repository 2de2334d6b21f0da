"""The ceiling for bench/intake.py: the least a FastAPI endpoint can do for a report, served
the way the app serves its own routes, so that the ratio measures what the app adds.

Same framework and route style (a synchronous route, JSON body), the same session (the
app's `SessionDep`: a session from `app.db.make_engine`, committed by
`app.deps.get_session` before the answer), one INSERT of the body per request, in the
same database. One uvicorn process, as `redflag serve` runs the app.

    python -m bench.ceiling_app --port 8100     # with BENCH_DATABASE_URL set
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Column, Integer, MetaData, Table, Text, insert

from app.db import make_engine, make_session_factory
from app.deps import SessionDep

engine = make_engine(os.environ["BENCH_DATABASE_URL"], pool_size=4, max_overflow=10)
metadata = MetaData()
stored = Table(
    "bench_ceiling",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("body", Text, nullable=False),
)
metadata.create_all(engine)

app = FastAPI()
app.state.session_factory = make_session_factory(engine)


@app.post("/insert", status_code=201)
def store(body: dict[str, Any], session: SessionDep) -> dict[str, str]:
    session.execute(insert(stored).values(body=str(body)))
    return {"status": "stored"}


if __name__ == "__main__":
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8100)
    uvicorn.run(
        app,
        port=parser.parse_args().port,
        log_level="warning",
        access_log=False,
    )
