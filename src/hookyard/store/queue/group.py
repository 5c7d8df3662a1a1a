"""Group commit: publishes that arrive together share one transaction.

A publish that finds no ingest in flight is written at once, alone: a lone publish waits for
nothing. Publishes that arrive while `flushes` ingests are in flight wait for the next one, and
that one writes them all (up to `max_events` events) in one transaction: one commit, one fsync,
one lookup of the matching records per route, and one counter update per callback url instead of
one each. Each caller gets its own results only after the transaction that holds its rows has
committed, so a 202 still means "stored".

Every caller's events are independent: when a shared transaction fails, each caller's events are
written again on their own, so one caller's bad event fails that caller only. An error that says
the database itself is away or full (`errors.HookyardError`) is every caller's answer at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from hookyard import errors
from hookyard.store.queue.protocol import Ingested, NewEvent

Write = Callable[[Sequence[NewEvent], datetime], Awaitable[list[Ingested]]]


@dataclass
class _Waiting:
    events: Sequence[NewEvent]
    now: datetime
    answer: asyncio.Future[list[Ingested]]


class GroupCommit:
    """Ingests through `write`, grouped as the module docstring says."""

    def __init__(self, write: Write, *, flushes: int = 1, max_events: int = 1000) -> None:
        self._write = write
        self.flushes = flushes
        """How many ingest transactions may be in flight at once."""
        self._max_events = max_events
        self._waiting: deque[_Waiting] = deque()
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.groups = 0
        """Transactions written (for tests and benchmarks: fewer than ingests when grouped)."""

    @property
    def waiting(self) -> int:
        """Ingests waiting for the next transaction."""
        return len(self._waiting)

    async def ingest(self, events: Sequence[NewEvent], now: datetime) -> list[Ingested]:
        """`events` stored, with their results, once their transaction has committed."""
        answer: asyncio.Future[list[Ingested]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(events, now, answer))
        if self._running < self.flushes:
            self._running += 1
            task = asyncio.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # A caller that goes away does not take its events back: they are written regardless.
        return await asyncio.shield(answer)

    async def _flush(self) -> None:
        try:
            while self._waiting:
                await self._write_group(self._take())
        finally:
            self._running -= 1

    def _take(self) -> list[_Waiting]:
        group = [self._waiting.popleft()]
        size = len(group[0].events)
        while self._waiting and size + len(self._waiting[0].events) <= self._max_events:
            size += len(self._waiting[0].events)
            group.append(self._waiting.popleft())
        return group

    async def _write_group(self, group: list[_Waiting]) -> None:
        self.groups += 1
        try:
            if len(group) == 1:
                only = group[0]
                _answer(only, await self._write(only.events, only.now))
                return
            events = [event for waiting in group for event in waiting.events]
            results = await self._write(events, max(waiting.now for waiting in group))
        except errors.HookyardError as exc:
            for waiting in group:
                _fail(waiting, exc)
            return
        except Exception as exc:
            if len(group) == 1:
                _fail(group[0], exc)
                return
            await self._one_by_one(group)
            return
        except BaseException as exc:
            for waiting in group:
                _fail(waiting, exc)
            raise
        start = 0
        for waiting in group:
            end = start + len(waiting.events)
            _answer(waiting, results[start:end])
            start = end

    async def _one_by_one(self, group: list[_Waiting]) -> None:
        for waiting in group:
            self.groups += 1
            try:
                _answer(waiting, await self._write(waiting.events, waiting.now))
            except Exception as exc:
                _fail(waiting, exc)


def _answer(waiting: _Waiting, results: list[Ingested]) -> None:
    if not waiting.answer.done():
        waiting.answer.set_result(results)


def _fail(waiting: _Waiting, exc: BaseException) -> None:
    if not waiting.answer.done():
        waiting.answer.set_exception(exc)
