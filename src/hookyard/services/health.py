"""Liveness and readiness: `/healthz` says the process answers; `/readyz` says the database
answers, its schema is the one this code expects, and a delivery worker's loop has beaten
recently (this process's own worker under `hookyard serve`, else any `hookyard worker`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hookyard import clock
from hookyard.store import Store
from hookyard.store.stats import QueueStats as QueueStats

OK = "ok"
CHECK_TIMEOUT_SECONDS = 5.0


class Pulse:
    """The time a worker's loop last went round, in this process: it follows the worker's
    `heartbeat` (a monotonic time), or is beaten by hand."""

    def __init__(
        self, now: clock.Clock = clock.utcnow, monotonic: clock.Monotonic = time.monotonic
    ) -> None:
        self._now = now
        self._monotonic = monotonic
        self._beaten: datetime | None = None
        self._source: Callable[[], float] | None = None

    def follow(self, heartbeat: Callable[[], float]) -> None:
        """Read the beat from `heartbeat()`, the monotonic time of the loop's last turn."""
        self._source = heartbeat

    def beat(self) -> None:
        self._beaten = self._now()

    @property
    def at(self) -> datetime | None:
        if self._source is not None:
            age = self._monotonic() - self._source()
            return self._now() - timedelta(seconds=max(0.0, age))
        return self._beaten


@dataclass(frozen=True)
class Readiness:
    """Each check's result: "ok", or what is wrong and what to do."""

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(result == OK for result in self.checks.values())


class Health:
    """The readiness checks of one process."""

    def __init__(
        self,
        store: Store,
        heads: Callable[[], frozenset[str]],
        *,
        worker_within_seconds: float,
        pulse: Pulse | None = None,
        now: clock.Clock = clock.utcnow,
    ) -> None:
        self._store = store
        self._heads = heads
        self._within = worker_within_seconds
        self.pulse = pulse or Pulse(now)
        self._now = now

    async def queue_stats(self, now: datetime, *, top_hosts: int) -> QueueStats:
        """The store's figures for one metrics scrape."""
        return await self._store.stats.queue(now, top_hosts=top_hosts)

    async def readiness(self) -> Readiness:
        """Database, schema and worker checks; a database that does not answer within
        a few seconds counts as down."""
        checks: dict[str, str] = {}
        try:
            revisions = await asyncio.wait_for(
                self._store.heartbeats.revisions(), CHECK_TIMEOUT_SECONDS
            )
        except Exception as exc:
            checks["database"] = f"the database does not answer ({type(exc).__name__})"
            checks["migrations"] = "unknown: the database does not answer"
            checks["worker"] = "unknown: the database does not answer"
            return Readiness(checks)
        checks["database"] = OK
        checks["migrations"] = self._schema(revisions)
        checks["worker"] = await self._worker()
        return Readiness(checks)

    def _schema(self, revisions: set[str]) -> str:
        expected = self._heads()
        if revisions == set(expected):
            return OK
        return (
            f"the database is at {', '.join(sorted(revisions)) or 'no revision'}, the code "
            f"expects {', '.join(sorted(expected))}: run `hookyard migrate`"
        )

    async def _worker(self) -> str:
        latest = self.pulse.at or await self._store.heartbeats.latest()
        if latest is None:
            return "no delivery worker has beaten: start `hookyard worker` (or use `serve`)"
        age = (self._now() - latest).total_seconds()
        if age > self._within:
            return (
                f"the newest worker beat is {age:.0f} s old (limit {self._within:.0f} s): "
                "check the worker's log"
            )
        return OK
