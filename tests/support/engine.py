"""An in-process delivery worker for tests: real sender, real store, started and always stopped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from hookyard import catalog, clock, retry
from hookyard.clock import utcnow
from hookyard.delivery import http, netguard, supervision
from hookyard.delivery.sender import Sender
from hookyard.delivery.worker import ExhaustedHook, Worker, WorkerConfig
from hookyard.services.events import EventService
from hookyard.store import Store

FAST = WorkerConfig(poll_interval_seconds=0.05, lease_seconds=5.0, shutdown_grace_seconds=5.0)
FAST_RETRIES = retry.Policy(base_seconds=0.05, factor=2.0)
BASE_URL = "https://hookyard.test"


def events(store: Store, products: catalog.Catalog | None = None) -> EventService:
    return EventService(store, products or catalog.load(), public_base_url=BASE_URL)


@asynccontextmanager
async def running_worker(
    store: Store,
    *,
    timeout: float = 2.0,
    policy: retry.Policy = FAST_RETRIES,
    guard: netguard.Guard | None = None,
    on_exhausted: ExhaustedHook | None = None,
    now: clock.Clock = utcnow,
    claim_batch: int = FAST.claim_batch,
    lease_seconds: float = FAST.lease_seconds,
    per_host_concurrency: int = FAST.per_host_concurrency,
    global_concurrency: int = FAST.global_concurrency,
    poll_interval_seconds: float = FAST.poll_interval_seconds,
    shutdown_grace_seconds: float = FAST.shutdown_grace_seconds,
    heartbeat_seconds: float = FAST.heartbeat_seconds,
    beside: Sequence[supervision.SideTask] = (),
) -> AsyncIterator[Worker]:
    """A worker delivering from `store` until the block ends (loopback allowed unless `guard`);
    `now` is its clock (one that runs ahead or behind the database's, for skew tests); it runs
    the tasks `beside` beside its deliveries."""
    guard = guard or netguard.Guard.build(allow_private=True)
    settings = WorkerConfig(
        claim_batch=claim_batch,
        lease_seconds=lease_seconds,
        per_host_concurrency=per_host_concurrency,
        global_concurrency=global_concurrency,
        poll_interval_seconds=poll_interval_seconds,
        shutdown_grace_seconds=shutdown_grace_seconds,
        heartbeat_seconds=heartbeat_seconds,
    )
    async with http.client_session(guard, limit=settings.global_concurrency) as session:
        sender = Sender(session, timeout=timeout)
        worker = Worker(store, sender, policy, settings, on_exhausted=on_exhausted, now=now)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop, beside))
        try:
            yield worker
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=30)


async def eventually(
    condition: Callable[[], Awaitable[bool]], timeout: float = 30.0, what: str = "condition"
) -> None:
    """Poll an async `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


__all__ = ["BASE_URL", "FAST", "FAST_RETRIES", "events", "eventually", "running_worker", "utcnow"]
