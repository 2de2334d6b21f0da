"""What the stages of one delivery round share (see worker.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any

from alerts.delivery.claims import Job, Outcome
from alerts.delivery.compose import Prepared

Result = tuple[Job, Outcome]


class Pipeline:
    """The messages waiting to go out (claim → send), the outcomes waiting to be written
    (send → record), and the events the stages wait on. All on the event loop: a stage
    changes it between two awaits, never in the middle of another's change."""

    def __init__(self, *, size: int, largest: int, senders: int, stop: asyncio.Event | None):
        self.waiting: asyncio.Queue[Prepared | None] = asyncio.Queue()  # None: the round is over
        self.outcomes: list[Result] = []
        self.size = size  # of the next claim
        self.largest = largest
        self.senders = senders
        self.stop = stop
        self.claimed = 0
        self.on_the_wire = 0
        self.starved = False  # a sender found nothing waiting since the last claim came in
        self.room = asyncio.Event()  # less than a batch waits: time to claim the next
        self.quiet = asyncio.Event()  # nothing waits, nothing is on the wire
        self.over = asyncio.Event()  # senders take no more messages
        self.quiet.set()
        self.written_at = time.monotonic()
        self.unsent: list[Prepared] = []  # not sent (the round ended, its provider is down)
        self.failure: Exception | None = None

    @property
    def ending(self) -> bool:
        return self.over.is_set() or (self.stop is not None and self.stop.is_set())

    async def stage(self, work: Coroutine[Any, Any, None]) -> None:
        """One stage. A stage that fails ends the round as a stop does: what is on the wire
        is answered and written, nothing more is taken, and the round then raises."""
        try:
            await work
        except Exception as exc:
            self.failure = self.failure or exc
            self.close()

    async def until(self, event: asyncio.Event) -> None:
        """Wait for `event`, or for the worker to be told to stop."""
        if self.stop is None:
            await event.wait()
            return
        waits = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(self.stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def over_within(self, seconds: float) -> bool:
        """Whether the round is over, waiting at most `seconds` for it to be."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.over.wait()
        return self.over.is_set()

    def add(self, batch: list[Prepared]) -> None:
        """A claimed batch joins the queue. Unpaced, the next claim is twice the size if
        senders ran dry while this one was claimed (up to `largest`)."""
        if self.claimed and self.starved:
            self.size = min(self.size * 2, self.largest)
        self.starved = False
        self.claimed += len(batch)
        for item in batch:
            self.waiting.put_nowait(item)
        self.quiet.clear()
        if self.waiting.qsize() >= self.size:
            self.room.clear()

    async def next_message(self) -> Prepared | None:
        """The next message to send, once there is one; None when the round is over."""
        if self.ending:
            return None
        if self.waiting.empty():
            self.starved = True
        item = await self.waiting.get()
        if item is None:
            return None
        if self.ending:  # told to stop while waiting for this one
            self.unsent.append(item)
            return None
        self.on_the_wire += 1
        if self.waiting.qsize() < self.size:
            self.room.set()
        return item

    def answered(self, job: Job, outcome: Outcome) -> None:
        """A sender's message is answered: its outcome waits to be written."""
        self.outcomes.append((job, outcome))
        self._off_the_wire()

    def hand_back(self, item: Prepared) -> None:
        """A sender's message is not sent after all (its provider is down): it waits to be
        handed back, due again at once."""
        self.unsent.append(item)
        self._off_the_wire()

    def _off_the_wire(self) -> None:
        self.on_the_wire -= 1
        if not self.on_the_wire and self.waiting.empty():
            self.quiet.set()

    def take_outcomes(self) -> list[Result]:
        """The outcomes to write now; the next ones are collected afresh."""
        taken, self.outcomes = self.outcomes, []
        self.written_at = time.monotonic()
        return taken

    def take_handed_back(self) -> list[Prepared]:
        """What senders handed back so far, to be released with the next claim."""
        taken, self.unsent = self.unsent, []
        return taken

    def close(self) -> None:
        """Senders take no more messages: they finish what is on the wire, then stop."""
        if self.over.is_set():
            return
        self.over.set()
        self.room.set()
        self.quiet.set()
        for _ in range(self.senders):
            self.waiting.put_nowait(None)

    def take_unsent(self) -> list[Prepared]:
        """What was claimed and never sent (the round is over)."""
        while not self.waiting.empty():
            if (item := self.waiting.get_nowait()) is not None:
                self.unsent.append(item)
        taken, self.unsent = self.unsent, []
        return taken
