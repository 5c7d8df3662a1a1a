"""A worker's heartbeat row: the one writer of `worker_heartbeats` (under `serve` and `worker`).

Every `interval` seconds it writes when the worker's claim loop last turned, so that a process
that is not the worker (`/readyz` of an API process elsewhere, an operator) can tell a live
worker from a dead one; it removes the row when the worker stops. At the first beat and every
`PRUNE_EVERY_BEATS`-th it also removes the rows of workers that have not beaten for long
(`heartbeats.stale_after`: killed, so they never removed theirs), so restarts do not grow the
table.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from hookyard import clock, ids
from hookyard.delivery.supervision import Repeats
from hookyard.store import heartbeats
from hookyard.store.heartbeats import Heartbeat, HeartbeatRepository

PRUNE_EVERY_BEATS = 100


def worker_id() -> str:
    """host:pid:suffix, the hostname cut so that the id fits its 80-character column."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{ids.ulid()[-6:]}"


class Beating:
    """Writes one worker's heartbeat row until cancelled; `forget` removes it."""

    def __init__(
        self,
        repository: HeartbeatRepository,
        worker: str,
        interval: float,
        turned: Callable[[], float],
        repeats: Repeats,
        *,
        now: clock.Clock,
        monotonic: clock.Monotonic,
    ) -> None:
        self._repository = repository
        self._interval = interval
        self._turned = turned
        self._repeats = repeats
        self._now = now
        self._monotonic = monotonic
        started = now()
        hostname = socket.gethostname()[:200]
        self._row = Heartbeat(worker, hostname, os.getpid(), started, started, interval)

    async def run(self) -> None:
        """Beat every interval; a failed write is counted (`Repeats`) and tried next time."""
        for beats in itertools.count():
            try:
                await self._beat(prune=beats % PRUNE_EVERY_BEATS == 0)
            except Exception as exc:
                self._repeats.failed("heartbeat", "writing the worker's heartbeat failed", exc)
            else:
                self._repeats.recovered("heartbeat", "writing the worker's heartbeat")
            await asyncio.sleep(self._interval)

    async def _beat(self, *, prune: bool) -> None:
        age = self._monotonic() - self._turned()
        beat_at = self._now() - timedelta(seconds=age)
        await self._repository.beat(replace(self._row, beat_at=beat_at))
        if prune:
            await self._repository.prune(self._now() - heartbeats.stale_after(self._interval))

    async def forget(self) -> None:
        """Remove the row (the worker stopped cleanly)."""
        with contextlib.suppress(Exception):
            await self._repository.forget(self._row.worker_id)
