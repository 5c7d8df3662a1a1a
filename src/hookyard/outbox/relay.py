"""The outbox relay: committed outbox rows to Hookyard's ingest, at least once, in order per
aggregate.

One pass reads up to `batch` pending rows in id order and groups them by aggregate; aggregates
are published concurrently (up to `concurrency`), the rows of one aggregate one after another.
A row Hookyard accepts is marked published (with its event id); a row that is not a valid event,
or that Hookyard refuses, is marked refused with the reason, logged, and the aggregate moves on.
When Hookyard is unreachable the aggregate's later rows wait for the next pass, and passes back
off exponentially (capped) until Hookyard answers again. A relay killed between publishing and
marking publishes that row again on restart; its Idempotency-Key makes Hookyard return the
first event instead of making a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from hookyard.outbox import ingest
from hookyard.outbox import table as outbox_table
from hookyard.outbox.source import Pending, Source

log = logging.getLogger("hookyard.outbox")


@dataclass(frozen=True)
class RelayConfig:
    batch: int = 200
    concurrency: int = 8
    poll_interval: float = 0.5
    backoff_start: float = 0.5
    backoff_cap: float = 30.0
    keep_published_hours: float = 24.0


@dataclass
class PassResult:
    published: int = 0
    refused: int = 0
    unavailable: str | None = None
    full: bool = False


def invalid(row: Pending) -> str | None:
    """Why `row` cannot be an event for Hookyard, or None."""
    try:
        outbox_table.row(row.product, json.loads(row.event), idempotency_key=row.idempotency_key)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


class Relay:
    """Moves one outbox table's rows to one Hookyard."""

    def __init__(
        self,
        source: Source,
        sink: ingest.Ingest,
        config: RelayConfig | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.source = source
        self.sink = sink
        self.config = config or RelayConfig()
        self._jitter = jitter
        self._failures = 0
        self._delay = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set (between rows; a row being published is finished)."""
        loop = asyncio.get_running_loop()
        next_prune = 0.0
        while not stop.is_set():
            outcome = await self._guarded_pass()
            if loop.time() >= next_prune:
                await self._prune()
                next_prune = loop.time() + 600.0
            await _wait(stop, self._pause(outcome))

    async def relay_once(self) -> PassResult:
        """One pass over the pending rows."""
        rows = await self.source.pending(self.config.batch)
        result = PassResult()
        groups: dict[str, list[Pending]] = {}
        for row in rows:
            groups.setdefault(row.aggregate, []).append(row)
        gate = asyncio.Semaphore(self.config.concurrency)
        await asyncio.gather(*(self._aggregate(group, gate, result) for group in groups.values()))
        result.full = len(rows) == self.config.batch
        self._note(result)
        return result

    async def _guarded_pass(self) -> PassResult:
        try:
            return await self.relay_once()
        except (SQLAlchemyError, OSError) as exc:
            result = PassResult(unavailable=f"the outbox database: {type(exc).__name__}: {exc}")
            self._note(result)
            return result

    async def _aggregate(
        self, rows: list[Pending], gate: asyncio.Semaphore, result: PassResult
    ) -> None:
        async with gate:
            for row in rows:
                if not await self._one(row, result):
                    return

    async def _one(self, row: Pending, result: PassResult) -> bool:
        """Relay one row; False when Hookyard is unavailable (the aggregate waits)."""
        reason = invalid(row)
        outcome = (
            ingest.Refused(reason)
            if reason is not None
            else await self.sink.publish(row.product, row.event, row.idempotency_key)
        )
        if isinstance(outcome, ingest.Published):
            await self.source.published(row.id, outcome.event_id)
            result.published += 1
            return True
        if isinstance(outcome, ingest.Refused):
            await self.source.refused(row.id, outcome.reason)
            log.warning(
                "outbox row %s refused: %s", row.id, outcome.reason, extra={"outbox_id": row.id}
            )
            result.refused += 1
            return True
        result.unavailable = outcome.reason
        return False

    def _note(self, result: PassResult) -> None:
        if result.unavailable is None:
            if self._failures:
                log.info("Hookyard is reachable again; relaying")
            self._failures = 0
            return
        self._failures += 1
        base = self.config.backoff_start * 2 ** min(self._failures - 1, 30)
        self._delay = min(self.config.backoff_cap, base) * (0.8 + 0.4 * self._jitter())
        log.warning(
            "unavailable: %s; retrying in %.1f s",
            result.unavailable,
            self._delay,
            extra={"failures": self._failures},
        )

    def _pause(self, result: PassResult) -> float:
        if result.unavailable is not None:
            return self._delay
        return 0.0 if result.full else self.config.poll_interval

    async def _prune(self) -> None:
        try:
            removed = await self.source.prune(self.config.keep_published_hours)
        except (SQLAlchemyError, OSError) as exc:  # a failed clean-up never stops relaying
            log.warning("could not delete old published outbox rows: %s", exc)
            return
        if removed:
            hours = self.config.keep_published_hours
            log.info("deleted %d outbox rows published over %s h ago", removed, hours)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
