"""Group commit (app.groupcommit): what arrives together is written together, and no
item is lost, written twice or blamed for another's fault. A pool of stand-in
connections here; tests/test_intake_on_the_loop.py does the same on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from app.groupcommit import MAX_BATCH, GroupCommit


class Connection:
    def __init__(self) -> None:
        self.broken = False


class Pool:
    """`size` connections; the next `dying` of them die in the middle of a statement."""

    def __init__(self, size: int = 1, *, dying: int = 0, timeout: bool = False) -> None:
        self.size = size
        self.dying = dying
        self.timeout = timeout
        self.free: asyncio.Semaphore | None = None
        self.checks = 0

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        if self.timeout:
            raise PoolTimeout("couldn't get a connection after 5.00 sec")
        self.free = self.free or asyncio.Semaphore(self.size)
        async with self.free:
            yield Connection()

    async def check(self) -> None:
        self.checks += 1


class Table:
    """What write() stored, and each call it got: (items, retry)."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.rows: list[str] = []
        self.calls: list[tuple[list[str], bool]] = []

    async def write(self, connection: Any, items: list[str], retry: bool) -> list[str]:
        self.calls.append((list(items), retry))
        await asyncio.sleep(0)  # a round trip: whoever arrives now waits for the next batch
        if any(item.startswith("bad") for item in items):
            raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
        self.rows.extend(items)  # stored whole, then perhaps the answer is lost
        if self.pool.dying:
            self.pool.dying -= 1
            connection.broken = True
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return [f"stored {item}" for item in items]


def run(pool: Pool, work: Callable[[GroupCommit[str, str], Table], Awaitable[Any]]) -> Any:
    table = Table(pool)
    group = GroupCommit(cast(AsyncConnectionPool, pool), table.write)
    return asyncio.run(work(group, table))


async def put_all(group: GroupCommit[str, str], items: list[str]) -> list[Any]:
    return await asyncio.gather(*(group.put(item) for item in items), return_exceptions=True)


def test_one_alone_is_written_at_once_and_alone() -> None:
    async def work(group: GroupCommit[str, str], table: Table) -> None:
        assert await group.put("a") == "stored a"
        assert table.calls == [(["a"], False)]

    run(Pool(), work)


def test_what_arrives_together_is_written_in_one_statement() -> None:
    async def work(group: GroupCommit[str, str], table: Table) -> None:
        items = [f"report {i}" for i in range(10)]
        assert await put_all(group, items) == [f"stored {item}" for item in items]
        assert table.calls == [(items, False)]

    run(Pool(), work)


def test_what_arrives_during_a_statement_goes_in_the_next() -> None:
    async def work(group: GroupCommit[str, str], table: Table) -> None:
        first = asyncio.ensure_future(group.put("first"))
        await asyncio.sleep(0)  # the first statement is under way (one connection)
        await asyncio.sleep(0)
        later = await put_all(group, ["second", "third"])
        assert (await first, later) == ("stored first", ["stored second", "stored third"])
        assert table.calls == [(["first"], False), (["second", "third"], False)]

    run(Pool(), work)


def test_a_crowd_is_written_in_batches_no_larger_than_the_limit() -> None:
    async def work(group: GroupCommit[str, str], table: Table) -> None:
        items = [f"report {i}" for i in range(2 * MAX_BATCH + 5)]
        assert await put_all(group, items) == [f"stored {item}" for item in items]
        assert sorted(table.rows) == sorted(items)
        assert [len(batch) for batch, _ in table.calls] == [MAX_BATCH, MAX_BATCH, 5]

    run(Pool(size=3), work)


def test_a_value_the_database_refuses_fails_only_its_own_item() -> None:
    async def work(group: GroupCommit[str, str], table: Table) -> None:
        outcomes = await put_all(group, ["a", "bad\x00", "b"])
        assert outcomes[0] == "stored a" and outcomes[2] == "stored b"
        assert isinstance(outcomes[1], psycopg.DataError)
        assert table.rows == ["a", "b"]
        assert table.calls == [
            (["a", "bad\x00", "b"], False),  # refused whole, so: each on its own
            (["a"], False),
            (["bad\x00"], False),
            (["b"], False),
        ]

    run(Pool(), work)


def test_a_dead_connection_is_replaced_and_the_batch_written_once_more_as_a_retry() -> None:
    pool = Pool(dying=1)

    async def work(group: GroupCommit[str, str], table: Table) -> None:
        assert await put_all(group, ["a", "b"]) == ["stored a", "stored b"]
        assert table.calls == [(["a", "b"], False), (["a", "b"], True)]
        assert pool.checks == 1

    run(pool, work)


def test_a_connection_that_dies_again_fails_the_batch_and_not_the_next() -> None:
    pool = Pool(dying=2)

    async def work(group: GroupCommit[str, str], table: Table) -> None:
        outcomes = await put_all(group, ["a", "b"])
        assert all(isinstance(outcome, psycopg.OperationalError) for outcome in outcomes)
        assert await group.put("c") == "stored c"

    run(pool, work)


def test_no_connection_to_be_had_fails_everyone_waiting_for_one() -> None:
    async def work(group: GroupCommit[str, str], table: Table) -> None:
        outcomes = await put_all(group, ["a", "b", "c"])
        assert [type(outcome) for outcome in outcomes] == [PoolTimeout] * 3
        assert table.calls == []

    run(Pool(timeout=True), work)


def test_a_client_that_goes_away_takes_nobody_with_it() -> None:
    async def work(group: GroupCommit[str, str], table: Table) -> None:
        leaving = asyncio.ensure_future(group.put("leaving"))
        staying = asyncio.ensure_future(group.put("staying"))
        await asyncio.sleep(0)
        leaving.cancel()
        assert await staying == "stored staying"
        with pytest.raises(asyncio.CancelledError):
            await leaving
        assert table.rows == ["leaving", "staying"]  # stored: only the answer had no taker

    run(Pool(), work)


def test_a_mistake_in_writing_answers_everyone_with_it_and_leaves_nobody_waiting() -> None:
    async def wrong(connection: Any, items: list[str], retry: bool) -> list[str]:
        return ["one answer for two"]

    async def work() -> list[Any]:
        group = GroupCommit(cast(AsyncConnectionPool, Pool()), wrong)
        return await asyncio.wait_for(put_all(group, ["a", "b"]), timeout=60)

    outcomes = asyncio.run(work())
    assert [type(outcome) for outcome in outcomes] == [RuntimeError, RuntimeError]
