"""The worker: claims due deliveries in batches, sends them concurrently, records tries in batches.

Pipeline: a claim loop leases up to `claim_batch` deliveries while there is capacity (at most
`global_concurrency` in hand), each callback host gets up to `per_host_concurrency` lanes (tasks)
that send its deliveries in turn, and a flusher records finished tries in one transaction per batch.
A host with twice its limit in hand is left out of claims, so a callback that hangs holds a
bounded share of the worker and the others keep flowing. Side tasks renew the leases held and
return expired leases of dead workers to the queue. Idle, the claim loop sleeps until a wake-up
(PostgreSQL NOTIFY or an in-process publish), the next due retry, or the poll interval.

Stop: set the `stop` event given to `run` (the CLI does on SIGTERM). Claiming stops, tries in
flight get `shutdown_grace_seconds` to finish, the rest are cancelled and their leases released.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter as MetricCounter
from prometheus_client import Histogram

from hookyard import clock, models, retry
from hookyard.config import Settings
from hookyard.delivery import sender as sending
from hookyard.store import Store
from hookyard.store.deliveries import Claimed, Finished

log = logging.getLogger("hookyard.delivery")
ATTEMPTS = MetricCounter("hookyard_delivery_attempts", "Delivery tries by outcome", ["outcome"])
LATENCY = Histogram("hookyard_delivery_seconds", "Duration of one delivery try")
_COUNTERS = {outcome: ATTEMPTS.labels(outcome.value) for outcome in models.Outcome}
FLUSH_MAX = 1000
FLUSHERS = 4
FLUSH_PARALLEL_MIN = 100
RECORD_TRIES = 3
RecordedHook = Callable[[list[Finished], datetime], Awaitable[None]]


@dataclass(frozen=True)
class WorkerConfig:
    """How much a worker takes on at once, and how it waits."""

    claim_batch: int = 100
    lease_seconds: float = 60.0
    per_host_concurrency: int = 8
    global_concurrency: int = 256
    poll_interval_seconds: float = 1.0
    shutdown_grace_seconds: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerConfig:
        return cls(
            claim_batch=settings.claim_batch,
            lease_seconds=settings.lease_seconds,
            per_host_concurrency=settings.per_host_concurrency,
            global_concurrency=settings.global_concurrency,
            poll_interval_seconds=settings.poll_interval_seconds,
            shutdown_grace_seconds=settings.shutdown_grace_seconds,
        )

    @property
    def host_backlog(self) -> int:
        """Deliveries of one host in hand at which the host is left out of claims."""
        return 2 * self.per_host_concurrency

    @property
    def refill_at(self) -> int:
        """Deliveries of a full host in hand at which the claimer is woken to refill it."""
        return self.host_backlog - max(1, self.per_host_concurrency // 2)

    @property
    def claim_threshold(self) -> int:
        """Free capacity worth a claim."""
        return max(1, min(self.claim_batch, self.global_concurrency) // 4)


def policy_from_settings(settings: Settings) -> retry.Policy:
    return retry.Policy(
        max_attempts=settings.max_attempts,
        base_seconds=settings.retry_base_seconds,
        factor=settings.retry_factor,
        jitter=settings.retry_jitter,
        retry_after_cap_seconds=settings.retry_after_cap_seconds,
    )


class Worker:
    """One delivery worker; any number may share one database."""

    def __init__(
        self,
        store: Store,
        sender: sending.Sender,
        policy: retry.Policy,
        config: WorkerConfig,
        *,
        now: clock.Clock = clock.utcnow,
        random_source: retry.Random = random.random,
        on_exhausted: RecordedHook | None = None,
        on_beat: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._sender = sender
        self._policy = policy
        self._config = config
        self._now = now
        self._random = random_source
        self._wake = asyncio.Event()
        self._results: asyncio.Queue[Finished | None] = asyncio.Queue()
        self._in_hand: dict[str, Claimed] = {}
        self._leased: set[str] = set()
        self._abandoned: list[str] = []
        self._per_host: Counter[str] = Counter()
        self._waiting: dict[str, deque[Claimed]] = {}
        self._lanes: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self.recorded = 0
        self.listening = asyncio.Event()
        self._on_exhausted = on_exhausted
        self._on_beat = on_beat

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, then finish gracefully."""
        close_listener = await self._store.wakeup.listen(self._wake.set)
        self.listening.set()
        flusher = asyncio.create_task(self._flush_loop())
        side = [
            _spawn(self._wake_on(stop)),
            _spawn(self._renew_loop()),
            _spawn(self._sweep_loop()),
        ]
        try:
            await self._claim_loop(stop)
            await self._drain()
        finally:
            for task in side:
                task.cancel()
            await asyncio.gather(*side, return_exceptions=True)
            self._results.put_nowait(None)
            await flusher
            await self._store.deliveries.release(self._abandoned, now=self._now())
            await close_listener()

    # claiming

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self._on_beat is not None:
                self._on_beat()
            self._wake.clear()
            free = self._config.global_concurrency - len(self._in_hand)
            if free < self._config.claim_threshold:
                await self._sleep(self._config.poll_interval_seconds)
                continue
            wanted = min(self._config.claim_batch, free)
            full = [h for h, n in self._per_host.items() if n >= self._config.host_backlog]
            batch = await self._claim(wanted, full)
            for job in batch:
                self._start(job)
            if len(batch) < wanted:
                await self._idle(full)

    async def _claim(self, wanted: int, full: list[str]) -> list[Claimed]:
        try:
            return await self._store.deliveries.claim(
                wanted,
                now=self._now(),
                lease_seconds=self._config.lease_seconds,
                exclude_hosts=full,
            )
        except Exception:
            log.exception("claiming deliveries failed; retrying after the poll interval")
            return []

    async def _idle(self, full: list[str]) -> None:
        """Everything claimable is claimed: sleep until a wake-up (a publish, a host with room
        again, capacity freed), the next due retry, or the poll interval. While some hosts are
        full their deliveries are due but not claimable, so the next due time says nothing:
        sleep until a host has room (that wakes the claimer) instead of looping on empty claims.
        """
        timeout = self._config.poll_interval_seconds
        if not full:
            with contextlib.suppress(Exception):
                due = await self._store.deliveries.next_due()
                if due is not None:
                    timeout = min(timeout, max(0.0, (due - self._now()).total_seconds()))
        await self._sleep(timeout)

    async def _sleep(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    # sending

    def _start(self, job: Claimed) -> None:
        self._in_hand[job.id] = job
        self._leased.add(job.id)
        self._per_host[job.host] += 1
        waiting = self._waiting.get(job.host)
        if waiting is None:
            waiting = self._waiting[job.host] = deque()
        waiting.append(job)
        if self._lanes[job.host] < self._config.per_host_concurrency:
            self._lanes[job.host] += 1
            task = asyncio.create_task(self._lane(job.host, waiting))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _lane(self, host: str, waiting: deque[Claimed]) -> None:
        """One of a host's at most `per_host_concurrency` senders: sends its deliveries in turn
        until none wait (a task per lane, not per delivery, and no semaphore to wait on)."""
        try:
            while waiting:
                job = waiting.popleft()
                try:
                    await self._deliver(job)
                finally:
                    self._done(job)
        finally:
            self._lanes[host] -= 1
            if self._lanes[host] <= 0:
                del self._lanes[host]
                if not waiting:
                    self._waiting.pop(host, None)

    async def _deliver(self, job: Claimed) -> None:
        try:
            request = sending.Request(job.id, job.url, job.body, job.secrets)
            result = await self._sender.send(request)
            self._results.put_nowait(self._finished(job, result))
            _observe(job, result)
        except asyncio.CancelledError:
            self._abandoned.append(job.id)
            raise
        except Exception:
            log.exception("delivery %s failed inside the worker; its lease will expire", job.id)

    def _finished(self, job: Claimed, result: sending.Result) -> Finished:
        decision = retry.decide(
            self._policy,
            job.attempt,
            succeeded=result.succeeded,
            status=result.status_code,
            retry_after=result.retry_after,
            now=self._now(),
            random=self._random,
        )
        return Finished(
            delivery_id=job.id,
            subscription_id=job.subscription_id,
            attempt=job.attempt,
            started_at=result.started_at,
            duration_ms=result.duration_ms,
            outcome=result.outcome,
            status_code=result.status_code,
            error=result.error,
            response_body=result.response_body,
            retry_at=decision.retry_at,
        )

    def _done(self, job: Claimed) -> None:
        del self._in_hand[job.id]
        self._per_host[job.host] -= 1
        remaining = self._per_host[job.host]
        if remaining <= 0:
            del self._per_host[job.host]
        free = self._config.global_concurrency - len(self._in_hand)
        # Wake the claimer when a host that was left out of claims (full) has room for half a
        # lane-set again, so it is refilled before its lanes run dry and in one claim with the
        # others that drained meanwhile, or when enough capacity is free for a claim.
        if remaining == self._config.refill_at or free == self._config.claim_threshold:
            self._wake.set()

    async def _drain(self) -> None:
        if not self._tasks:
            return
        tasks = set(self._tasks)
        _, late = await asyncio.wait(tasks, timeout=self._config.shutdown_grace_seconds)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        for waiting in self._waiting.values():
            self._abandoned.extend(job.id for job in waiting)
            waiting.clear()

    # recording

    async def _flush_loop(self) -> None:
        # SQLite has one writer; PostgreSQL commits several batches at once, so that the commit
        # latency of one batch does not hold up the next.
        writers = asyncio.Semaphore(1 if self._store.dialect == "sqlite" else FLUSHERS)
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
            batch, closing = self._drain_results(first)
            task = asyncio.create_task(self._record(batch, writers))
            recording.add(task)
            task.add_done_callback(recording.discard)
        await asyncio.gather(*recording)

    def _drain_results(self, first: Finished) -> tuple[list[Finished], bool]:
        batch = [first]
        while len(batch) < FLUSH_MAX and not self._results.empty():
            item = self._results.get_nowait()
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    async def _record(self, batch: list[Finished], writers: asyncio.Semaphore) -> None:
        recorded_at: datetime | None = None
        try:
            for attempt in range(1, RECORD_TRIES + 1):
                try:
                    now = self._now()
                    await self._store.deliveries.finish(batch, now=now)
                    self.recorded += len(batch)
                    recorded_at = now
                    break
                except Exception:
                    # Unrecorded tries keep their leases until they expire and are tried again.
                    log.exception("recording %d tries failed (try %d)", len(batch), attempt)
                    await asyncio.sleep(0.1 * attempt)
        finally:
            writers.release()
            self._leased.difference_update(t.delivery_id for t in batch)
        if recorded_at is not None:
            await self._report_exhausted(batch, recorded_at)

    async def _report_exhausted(self, batch: list[Finished], at: datetime) -> None:
        """Tell `on_exhausted` about the deliveries that gave up (rare: only then a call)."""
        exhausted = [t for t in batch if t.state is models.DeliveryState.FAILED]
        if not exhausted or self._on_exhausted is None:
            return
        try:
            await self._on_exhausted(exhausted, at)
        except Exception:
            log.exception("reporting %d exhausted deliveries failed", len(exhausted))

    # side tasks

    async def _renew_loop(self) -> None:
        interval = self._config.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            until = self._now() + timedelta(seconds=self._config.lease_seconds)
            with contextlib.suppress(Exception):
                await self._store.deliveries.extend(list(self._leased), until=until)

    async def _sweep_loop(self) -> None:
        interval = min(max(self._config.lease_seconds / 2, self._config.poll_interval_seconds), 60)
        while True:
            try:
                if await self._store.deliveries.release_expired(now=self._now()):
                    self._wake.set()
            except Exception:
                log.exception("returning expired leases failed; trying again later")
            await asyncio.sleep(interval)


def _spawn(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    return asyncio.create_task(coroutine)


def _observe(job: Claimed, result: sending.Result) -> None:
    _COUNTERS[result.outcome].inc()
    LATENCY.observe(result.duration_ms / 1000.0)
    # One line per try: a failure at INFO, a success at DEBUG (every try is also an attempt row,
    # and at thousands of deliveries a second a line per success is most of the worker's work).
    level = logging.DEBUG if result.outcome is models.Outcome.SUCCESS else logging.INFO
    if not log.isEnabledFor(level):
        return
    log.log(
        level,
        "delivery_attempt",
        extra={
            "delivery_id": job.id,
            "attempt": job.attempt,
            "status": result.status_code,
            "duration_ms": round(result.duration_ms, 1),
            "outcome": result.outcome.value,
        },
    )
