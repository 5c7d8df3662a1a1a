"""The worker: claims due deliveries in batches, sends them concurrently, records tries in batches.

Pipeline: a claim loop leases up to `claim_batch` deliveries while there is capacity (at most
`global_concurrency` in hand), each callback host gets up to `per_host_concurrency` lanes (tasks)
that send its deliveries in turn, and a flusher records finished tries in one transaction per batch.
A host with twice its limit in hand is left out of claims, so a callback that hangs holds a
bounded share of the worker and the others keep flowing (what it holds, per host and lane, and
the leases it owes: `hookyard.delivery.in_hand`). Side tasks renew the leases held and
return expired leases of dead workers to the queue. Idle, the claim loop sleeps until a wake-up
(PostgreSQL NOTIFY or an in-process publish), the next due retry, or the poll interval.

Nothing halts the queue: a delivery that cannot be prepared, or whose try raises, is recorded
as a failed try with the reason (`hookyard.delivery.tries`) and returns its lease that way; a
claim, record or lease renewal that fails is retried with capped exponential backoff and logged
once with a count (`hookyard.delivery.supervision`). The side tasks (wake-up listener, lease
renewal, expired-lease sweep, heartbeat, and those given to `run` to run beside the deliveries:
url probing, pruning) are restarted when they die; one that keeps failing for another
reason than the database being away stops the worker with `SideTaskFailed`, so that the process
exits non-zero. `heartbeat` is the monotonic time of the claim loop's last turn; every
`heartbeat_seconds` the worker also writes it to `worker_heartbeats` for processes that are not
the worker (`hookyard.delivery.beating`, the one writer of that table).

Leases are the database's (`hookyard.store.queue.protocol`): each claim leases under a token
that starts with `worker_id`, and the worker renews, finishes and returns its deliveries with
that token, so a delivery another worker took over after this one's lease expired is left alone.

Stop: set the `stop` event given to `run` (the CLI does on SIGTERM). Claiming stops, tries in
flight get `shutdown_grace_seconds` to finish, the rest are cancelled and their leases released.
The side tasks beside the deliveries are told to stop too, and get the same grace to finish the
pass under way.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import Counter as MetricCounter
from prometheus_client import Histogram

from hookyard import clock, errors, models, retry
from hookyard.delivery import beating, recording, supervision, tries
from hookyard.delivery import sender as sending
from hookyard.delivery.in_hand import InHand
from hookyard.delivery.worker_config import WorkerConfig, policy_from_settings
from hookyard.store import Store
from hookyard.store.queue import Claimed, ClaimRequest, Finished

__all__ = ["Worker", "WorkerConfig", "policy_from_settings"]

log = logging.getLogger("hookyard.delivery")
ATTEMPTS = MetricCounter("hookyard_delivery_attempts", "Delivery tries by outcome", ["outcome"])
LATENCY = Histogram("hookyard_delivery_seconds", "Duration of one delivery try")
_COUNTERS = {outcome: ATTEMPTS.labels(outcome.value) for outcome in models.Outcome}
ExhaustedHook = Callable[[list[Finished], frozenset[str]], Awaitable[None]]
"""Told the tries whose delivery gave up, and the ids of the records their batch Stopped."""


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
        monotonic: clock.Monotonic = time.monotonic,
        backoff: supervision.Backoff = supervision.Backoff(),
        on_exhausted: ExhaustedHook | None = None,
    ) -> None:
        self._store = store
        self._queue = store.queue
        self._sender = sender
        self._config = config
        self._now = now
        self._monotonic = monotonic
        self._backoff = backoff
        self._preparer = tries.Preparer(store.sealer.unseal, now)
        self._tries = tries.Recorder(policy, now, random_source)
        self._repeats = supervision.Repeats(log, monotonic)
        self._recorder = recording.Recorder(
            self._queue,
            self._repeats,
            now=now,
            give_up_seconds=config.lease_seconds,
            on_recorded=self._recorded,
            backoff=backoff,
        )
        self._wake = asyncio.Event()
        self._retry_wake: tuple[asyncio.TimerHandle, float] | None = None
        self._hand = InHand(config.per_host_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.listening = asyncio.Event()
        self.heartbeat = monotonic()
        self._on_exhausted = on_exhausted
        self._reports: set[asyncio.Task[None]] = set()
        self.worker_id = beating.worker_id()
        self._beating = beating.Beating(
            store.heartbeats,
            self.worker_id,
            config.heartbeat_seconds,
            lambda: self.heartbeat,
            self._repeats,
            now=now,
            monotonic=monotonic,
        )

    def in_hand(self) -> dict[str, int]:
        """Deliveries this worker holds (claimed, not yet tried to the end) per callback host."""
        return self._hand.per_host()

    @property
    def recorded(self) -> int:
        """How many tries this worker has recorded."""
        return self._recorder.recorded

    async def run(self, stop: asyncio.Event, beside: Sequence[supervision.SideTask] = ()) -> None:
        """Deliver until `stop` is set, then finish gracefully. The tasks `beside` run as long
        as the deliveries, kept running like the worker's own side tasks. Raises
        `SideTaskFailed` (after stopping gracefully) when a side task could not be kept running.
        """
        unsubscribe = self._store.wakeup.subscribe(self._wake.set)
        flusher = asyncio.create_task(self._recorder.run())
        side = [
            self._supervised("wake-up listener", self._listen),
            self._supervised("lease renewal", self._renew_loop),
            self._supervised("expired-lease sweep", self._sweep_loop),
            self._supervised("heartbeat", self._beating.run),
        ]
        others = [self._supervised(t.name, functools.partial(t.run, stop), stop) for t in beside]
        waker = asyncio.create_task(self._wake_on(stop))
        claiming = asyncio.create_task(self._claim_loop(stop))
        try:
            done, _ = await asyncio.wait(
                [claiming, *side, *others], return_when=asyncio.FIRST_COMPLETED
            )
            stop.set()
            await claiming
            await self._drain(others)
            for task in done:
                task.result()
        finally:
            for task in (*side, *others, waker):
                task.cancel()
            await asyncio.gather(*side, *others, waker, return_exceptions=True)
            self._recorder.close()
            await flusher
            await asyncio.gather(*self._reports, return_exceptions=True)
            await self._release_abandoned()
            await self._beating.forget()
            unsubscribe()
            if self._retry_wake is not None:
                self._retry_wake[0].cancel()

    def _supervised(
        self, name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event | None = None
    ) -> asyncio.Task[None]:
        return asyncio.create_task(
            supervision.keep_running(
                name,
                run,
                self._repeats,
                backoff=self._backoff,
                monotonic=self._monotonic,
                stop=stop,
            )
        )

    # claiming

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            self.heartbeat = self._monotonic()
            self._wake.clear()
            try:
                await self._claim_once()
                failures = 0
            except Exception as exc:
                failures += 1
                self._repeats.failed("claim", "claiming deliveries failed", exc)
                await _wait(stop, self._backoff.delay(failures))
                continue
            self._repeats.recovered("claim", "claiming deliveries")

    async def _claim_once(self) -> None:
        free = self._config.global_concurrency - len(self._hand)
        if free < self._config.claim_threshold:
            await self._sleep(self._config.poll_interval_seconds)
            return
        wanted = min(self._config.claim_batch, free)
        request = ClaimRequest(
            wanted,
            self._config.lease_seconds,
            holder=self.worker_id,
            per_host=self._config.host_backlog,
            in_hand=self._hand.per_host(),
        )
        batch = await self._queue.claim(request)
        for job in batch:
            self._start(job)
        if len(batch) < wanted:
            await self._idle()

    async def _idle(self) -> None:
        """Everything claimable is claimed: sleep until a wake-up (a publish, a host with room
        again, capacity freed), the next due delivery of a host that has room, or the poll
        interval. A full host's deliveries are due but not claimable, so they are left out of
        the next due time: a dead host with a backlog neither makes the claimer spin on empty
        claims nor sleep through the healthy hosts' due deliveries."""
        if self._wake.is_set():
            # Work arrived while claiming (a publish at a high rate): claim again at once, without
            # asking when the next retry is due (a round trip per claim, of no use now).
            return
        timeout = self._config.poll_interval_seconds
        full = [host for host, n in self._hand.per_host().items() if n >= self._config.host_backlog]
        try:
            due_in = await self._queue.due_in(full)
        except Exception as exc:
            self._repeats.failed("next-due", "reading when the next retry is due failed", exc)
        else:
            self._repeats.recovered("next-due", "reading when the next retry is due")
            if due_in is not None:
                timeout = min(timeout, max(0.0, due_in))
        await self._sleep(timeout)

    async def _sleep(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    # sending

    def _start(self, job: Claimed) -> None:
        if self._hand.take(job):
            task = asyncio.create_task(self._lane(job.host))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _lane(self, host: str) -> None:
        """One of a host's at most `per_host_concurrency` senders: sends its deliveries in turn
        until none wait (a task per lane, not per delivery, and no semaphore to wait on)."""
        try:
            while (job := self._hand.next(host)) is not None:
                try:
                    await self._deliver(job)
                finally:
                    self._done(job)
        finally:
            self._hand.close_lane(host)

    async def _deliver(self, job: Claimed) -> None:
        """One try; whatever happens it ends as a recorded try (or, cancelled, a released lease)."""
        try:
            request = self._preparer.request(job)
        except Exception as exc:
            self._repeats.failed("prepare", "a delivery could not be prepared", exc)
            self._recorder.put(self._tries.not_sent(job, exc))
            return
        try:
            result = await self._sender.send(request)
            finished = self._tries.sent(job, result)
        except asyncio.CancelledError:
            self._hand.abandon(job)
            raise
        except Exception as exc:
            self._repeats.failed("try", "a try failed inside the worker", exc)
            self._recorder.put(self._tries.not_sent(job, exc))
            return
        self._recorder.put(finished)
        _observe(job, result)

    def _done(self, job: Claimed) -> None:
        remaining = self._hand.done(job)
        free = self._config.global_concurrency - len(self._hand)
        # Wake the claimer when a host that was left out of claims (full) has room for half a
        # lane-set again, so it is refilled before its lanes run dry and in one claim with the
        # others that drained meanwhile, or when enough capacity is free for a claim.
        if remaining == self._config.refill_at or free == self._config.claim_threshold:
            self._wake.set()

    async def _drain(self, beside: list[asyncio.Task[None]]) -> None:
        """Give the tries in flight and the passes of the tasks beside the deliveries the grace
        to finish, then cancel the lanes still sending."""
        tasks = {*self._tasks, *beside}
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self._config.shutdown_grace_seconds)
            lanes = late - set(beside)
            for task in lanes:
                task.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
        self._hand.abandon_waiting()

    def _recorded(self, batch: list[Finished], stopped: frozenset[str]) -> None:
        for finished in batch:
            self._hand.recorded(finished.delivery_id, finished.lease)
        retries = [t.retry_at for t in batch if t.retry_at is not None and not t.succeeded]
        if retries:
            self._wake_for_retry((min(retries) - self._now()).total_seconds())
        exhausted = [t for t in batch if t.state is models.DeliveryState.FAILED]
        if exhausted and self._on_exhausted is not None:
            # Rare (a delivery's last try failed), and told in a task of its own so that the
            # recorder never waits for it; the worker waits for it before it stops.
            report = asyncio.create_task(self._report(self._on_exhausted, exhausted, stopped))
            self._reports.add(report)
            report.add_done_callback(self._reports.discard)

    def _wake_for_retry(self, delay: float) -> None:
        """Wake the claimer when a retry this worker recorded is due: nothing else would (no
        publish, no wake-up from another process), and the poll interval may be long."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        when = now + max(0.0, delay)
        if self._retry_wake is not None:
            pending, at = self._retry_wake  # (uvloop's handles do not say when they fire)
            if now < at <= when:
                return  # an earlier wake-up is still to come
            pending.cancel()
        self._retry_wake = (loop.call_at(when, self._wake.set), when)

    async def _report(
        self, hook: ExhaustedHook, exhausted: list[Finished], stopped: frozenset[str]
    ) -> None:
        try:
            await hook(exhausted, stopped)
        except errors.HookyardError as exc:  # said in one line: what failed, what to do
            log.error("reporting %d exhausted deliveries failed: %s", len(exhausted), exc)
        except Exception:
            log.exception("reporting %d exhausted deliveries failed", len(exhausted))

    async def _release_abandoned(self) -> None:
        abandoned = self._hand.abandoned()
        try:
            await self._queue.release(abandoned)
        except Exception as exc:
            self._repeats.failed("release", "returning untried deliveries failed", exc)
            log.warning(
                "%d untried deliveries are due again when their leases expire", len(abandoned)
            )

    # side tasks

    async def _listen(self) -> None:
        try:
            await self._queue.listen(self._wake.set, self._listening)
        finally:
            self.listening.clear()

    def _listening(self) -> None:
        self.listening.set()
        self._repeats.recovered("wake-up listener", "the wake-up listener")
        # Wake-ups sent while the listener was away were lost: look for work now.
        self._wake.set()

    async def _renew_loop(self) -> None:
        interval = self._config.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                await self._queue.extend(
                    self._hand.leases(), lease_seconds=self._config.lease_seconds
                )
            except Exception as exc:
                self._repeats.failed("renew", "renewing the leases held failed", exc)
            else:
                self._repeats.recovered("renew", "renewing the leases held")

    async def _sweep_loop(self) -> None:
        interval = min(max(self._config.lease_seconds / 2, self._config.poll_interval_seconds), 60)
        while True:
            try:
                if await self._queue.release_expired():
                    self._wake.set()
            except Exception as exc:
                self._repeats.failed("sweep", "returning expired leases failed", exc)
            else:
                self._repeats.recovered("sweep", "returning expired leases")
            await asyncio.sleep(interval)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


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
            "attempt": job.number,
            "status": result.status_code,
            "duration_ms": round(result.duration_ms, 1),
            "outcome": result.outcome.value,
        },
    )
