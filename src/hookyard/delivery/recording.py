"""Recording finished tries in batches: one transaction per batch, several at once where the
database commits them in parallel, retried with capped backoff while the database is away.

A batch that cannot be recorded within the lease keeps nothing: its deliveries' leases expire
and they are tried again (at-least-once), so the recorder gives up on it after `give_up_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable

from hookyard import clock, metrics
from hookyard.delivery import tries
from hookyard.delivery.supervision import Backoff, Repeats
from hookyard.store.queue import Finished, QueueBackend

Recorded = Callable[[list[Finished], frozenset[str]], None]
"""Called after each batch: its tries, and the ids of the records it Stopped (none when the
batch could not be recorded)."""

FLUSH_MAX = 1000
FLUSH_PARALLEL_MIN = 100

log = logging.getLogger("hookyard.delivery")


class Recorder:
    """Takes finished tries (`put`) and records them until `close`."""

    def __init__(
        self,
        queue: QueueBackend,
        repeats: Repeats,
        *,
        now: clock.Clock = clock.utcnow,
        give_up_seconds: float = 60.0,
        on_recorded: Recorded = lambda _batch, _stopped: None,
        backoff: Backoff = Backoff(),
    ) -> None:
        self._queue = queue
        self._repeats = repeats
        self._now = now
        self._give_up_seconds = give_up_seconds
        self._on_recorded = on_recorded
        self._backoff = backoff
        self._results: asyncio.Queue[Finished | None] = asyncio.Queue()
        self.recorded = 0

    def put(self, finished: Finished) -> None:
        self._results.put_nowait(finished)

    def close(self) -> None:
        """Record what is queued, then let `run` return."""
        self._results.put_nowait(None)

    async def run(self) -> None:
        # SQLite has one writer; PostgreSQL commits several batches at once, so that the commit
        # latency of one batch does not hold up the next.
        writers = asyncio.Semaphore(self._queue.flush_writers)
        recording: set[asyncio.Task[None]] = set()
        closing = False
        while not closing:
            first = await self._results.get()
            if first is None:
                break
            # While a batch is being recorded, the next one waits until it is worth a
            # transaction of its own: many small concurrent transactions cost more round trips
            # than they save in commit latency.
            while recording and self._results.qsize() + 1 < FLUSH_PARALLEL_MIN:
                await asyncio.wait(set(recording), return_when=asyncio.FIRST_COMPLETED)
            await writers.acquire()
            batch, closing = self._take(first)
            task = asyncio.create_task(self._record(batch, writers))
            recording.add(task)
            task.add_done_callback(recording.discard)
        await asyncio.gather(*recording)

    def _take(self, first: Finished) -> tuple[list[Finished], bool]:
        batch = [first]
        while len(batch) < FLUSH_MAX and not self._results.empty():
            item = self._results.get_nowait()
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    async def _record(self, batch: list[Finished], writers: asyncio.Semaphore) -> None:
        stopped: frozenset[str] = frozenset()
        try:
            stopped = await self._record_with_backoff(batch)
        finally:
            writers.release()
            self._on_recorded(batch, stopped)

    async def _record_with_backoff(self, batch: list[Finished]) -> frozenset[str]:
        started = time.monotonic()
        failures = 0
        while True:
            try:
                stopped = await self._queue.finish(batch, now=self._now())
            except Exception as exc:
                failures += 1
                self._repeats.failed("record", "recording finished tries failed", exc)
                if time.monotonic() - started >= self._give_up_seconds:
                    log.error(
                        "%d tries were not recorded; their leases expire and they are tried again",
                        len(batch),
                    )
                    return frozenset()
                await asyncio.sleep(self._backoff.delay(failures))
                continue
            self.recorded += len(batch)
            # Counted once committed, so the counter agrees with the attempt rows.
            metrics.results(Counter((t.product, tries.result(t)) for t in batch))
            self._repeats.recovered("record", "recording finished tries")
            return stopped
