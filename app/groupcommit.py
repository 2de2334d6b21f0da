"""Group commit: writes that arrive while the database is busy go to it together.

The API's busiest write, a report, is stored on the event loop's own PostgreSQL
connections (app.db.make_loop_pool). A GroupCommit hands each batch to one statement on
one of them: what arrived while every connection was busy goes together, so under load
a few dozen reports cost one round trip, one statement and one commit instead of one
each, and the event loop spends its time on requests instead of on waiting for
connections. When it is quiet a report goes alone, at once: nothing ever waits for a
batch to fill up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

T = TypeVar("T")
R = TypeVar("R")

# write(connection, items, retry) stores the items in ONE statement and returns one result
# for each. `retry` is True when the same items are written again because the connection
# died before the first try's answer came: that try may have been stored, whole, and
# `write` must then say what became of each item instead of storing it twice.
Write = Callable[[AsyncConnection[Any], list[T], bool], Awaitable[list[R]]]

# Under load a batch is whatever arrived during one statement: at 50 clients, up to 50.
MAX_BATCH = 64


class GroupCommit(Generic[T, R]):
    """`await put(item)` stores the item with whatever else is waiting and returns its
    result, or raises what storing it raised.

    A connection that turns out dead (as all of them are after the server restarts) has
    the pool test its idle ones, and the batch is written once more on another. A batch
    the database refuses for any other reason (a value it will not take) is written
    again item by item, so that only the item at fault fails."""

    def __init__(self, pool: AsyncConnectionPool, write: Write[T, R]) -> None:
        self.pool = pool
        self._write = write
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._collecting = False  # a flush is waiting for a connection, then takes _waiting
        self._flushes: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def put(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if not self._collecting:
            self._start_flush()
        return await future

    def _start_flush(self) -> None:
        self._collecting = True
        flush = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(flush)
        flush.add_done_callback(self._flushes.discard)

    def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        """The next batch; whatever is left over starts a flush of its own."""
        batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        self._collecting = False
        if self._waiting:
            self._start_flush()
        return batch

    async def _flush(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            try:
                async with self.pool.connection() as connection:
                    batch = self._take()  # all that arrived while no connection was free
                    outcomes = await self._write_batch(connection, batch, retry=False)
            except psycopg.OperationalError:
                if not batch or not connection.broken:
                    raise
                await self.pool.check()
                async with self.pool.connection() as connection:
                    outcomes = await self._write_batch(connection, batch, retry=True)
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{len(outcomes)} answers for a batch of {len(batch)}")
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                _settle(future, outcome)
        except BaseException as exc:  # nobody may be left waiting for an answer
            for _, future in batch or self._take():  # no connection: all who wait for one
                _settle(future, exc)
            if not isinstance(exc, Exception):
                raise

    async def _write_batch(
        self, connection: AsyncConnection[Any], batch: list[tuple[T, Any]], *, retry: bool
    ) -> list[R | Exception]:
        try:
            return list(await self._write(connection, [item for item, _ in batch], retry))
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            if len(batch) == 1:
                return [exc]
        outcomes: list[R | Exception] = []
        for one in batch:  # which one was it: each on its own
            outcomes.extend(await self._write_batch(connection, [one], retry=retry))
        return outcomes


def _settle(future: asyncio.Future[Any], outcome: object) -> None:
    if future.done():  # its request was cancelled: the client went away
        return
    if isinstance(outcome, asyncio.CancelledError):
        future.cancel()
    elif isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
