"""The pruner: a side task of the worker that deletes what retention no longer keeps.

Every `interval_seconds` it prunes in batches of `batch` rows (one short transaction each,
`hookyard.store.retention`) until a batch comes back short, pausing between batches at least as
long as the batch took, so that the delivery path, which needs the same write lock on SQLite,
always gets its turn. The pruner runs as a side task of the worker (`supervision.SideTask`): a
pass that fails is logged once, then counted, and run again after the backoff, never later than
an interval (`supervision.every`), so pruning never stops delivery; a loop that cannot be kept
running stops the worker like its other side tasks do.

On a PostgreSQL server whose autovacuum is off (`Retention.needs_vacuum`), a pass that deleted
rows ends with a VACUUM of the pruned tables (at most every `vacuum_interval_seconds`), said once
in the log, so their space is reused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from hookyard import clock
from hookyard.config import Settings
from hookyard.delivery import supervision
from hookyard.store.retention import Cutoffs, Pruned, Retention

log = logging.getLogger("hookyard.pruner")
KIND = "pruning"

PAUSE_SECONDS = 0.02
"""The least pause between two batches of one pass. The pause is at least as long as the batch
took, too, so that claims and finishes waiting on the write lock (SQLite has one writer) get at
least half of it while a pass runs."""


@dataclass(frozen=True)
class PrunerConfig:
    days: float = 30.0
    failed_days: float = 90.0
    interval_seconds: float = 60.0
    batch: int = 500
    vacuum_interval_seconds: float = 60.0
    """The least time between two VACUUMs of the pruned tables (only when autovacuum is off): a
    VACUUM reads the whole table, so frequent passes (a short interval) share one a minute."""

    @classmethod
    def from_settings(cls, settings: Settings) -> PrunerConfig:
        return cls(
            days=settings.retention_days,
            failed_days=settings.retention_failed_days,
            interval_seconds=settings.prune_interval_seconds,
            batch=settings.prune_batch,
        )

    @property
    def enabled(self) -> bool:
        """An interval of 0 turns the worker's pruning off (run `hookyard prune` instead)."""
        return self.interval_seconds > 0


class Pruner:
    """Prunes `retention` now and then until stopped."""

    def __init__(
        self,
        retention: Retention,
        config: PrunerConfig,
        *,
        now: clock.Clock = clock.utcnow,
        backoff: supervision.Backoff = supervision.Backoff(),
    ) -> None:
        self._retention = retention
        self.config = config
        self._now = now
        self._backoff = backoff
        self._repeats = supervision.Repeats(log)
        self.pruned = Pruned()
        """Everything this pruner deleted since it started."""
        self.vacuums = 0
        """How many passes ended with a VACUUM (PostgreSQL with autovacuum off)."""
        self._needs_vacuum: bool | None = None
        self._vacuumed_at: float | None = None

    def cutoffs(self) -> Cutoffs:
        return Cutoffs.at(self._now(), days=self.config.days, failed_days=self.config.failed_days)

    @property
    def failures(self) -> int:
        """Passes failed in a row until now."""
        return self._repeats.count(KIND)

    async def run(self, stop: asyncio.Event) -> None:
        """Prune every interval until `stop` is set (no batch starts after); a failed pass is
        logged once and run again after the backoff."""
        await supervision.every(
            self.config.interval_seconds,
            lambda: self.prune(stop),
            stop,
            self._repeats,
            KIND,
            backoff=self._backoff,
        )

    async def prune(
        self, stop: asyncio.Event | None = None, progress: Callable[[Pruned], None] | None = None
    ) -> Pruned:
        """One pass: batches until nothing more is due (or `stop` is set); what was deleted."""
        cutoffs = self.cutoffs()
        total = Pruned()
        while stop is None or not stop.is_set():
            started = time.monotonic()
            pruned = await self._retention.prune_batch(cutoffs, self.config.batch)
            total += pruned
            if progress is not None:
                progress(pruned)
            if pruned.deliveries < self.config.batch and pruned.events < self.config.batch:
                break
            await asyncio.sleep(max(PAUSE_SECONDS, time.monotonic() - started))
        self.pruned += total
        if total.total:
            log.info(
                "pruned %d deliveries, %d attempts, %d events",
                total.deliveries,
                total.attempts,
                total.events,
            )
            if await self._vacuum_due():
                await self._retention.vacuum()
                self._vacuumed_at = time.monotonic()
                self.vacuums += 1
        return total

    async def _vacuum_due(self) -> bool:
        last = self._vacuumed_at
        if last is not None and time.monotonic() - last < self.config.vacuum_interval_seconds:
            return False
        if self._needs_vacuum is None:
            self._needs_vacuum = await self._retention.needs_vacuum()
            if self._needs_vacuum:
                log.info(
                    "PostgreSQL autovacuum is off for the pruned tables: pruning passes that"
                    " delete rows end with VACUUM (ANALYZE) of them, at most every %.0f s, so"
                    " their space is reused",
                    self.config.vacuum_interval_seconds,
                )
        return self._needs_vacuum
