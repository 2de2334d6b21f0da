"""The ceiling for bench/intake.py: the least a FastAPI endpoint can do for a report,
one INSERT into PostgreSQL per request, served the same way (uvicorn, one process).

    uvicorn bench.ceiling_app:app --port 8100     # with BENCH_DATABASE_URL set
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from app.db import make_engine

engine = make_engine(os.environ["BENCH_DATABASE_URL"], pool_size=20)
with engine.begin() as connection:
    connection.execute(
        text("CREATE TABLE IF NOT EXISTS bench_ceiling (id serial PRIMARY KEY, body text)")
    )

app = FastAPI()


@app.post("/insert", status_code=201)
def insert(body: dict[str, Any]) -> dict[str, str]:
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO bench_ceiling (body) VALUES (:body)"), {"body": str(body)}
        )
    return {"status": "stored"}
