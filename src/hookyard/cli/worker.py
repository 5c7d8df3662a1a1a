"""`hookyard worker`: deliver queued deliveries until SIGTERM or SIGINT, then stop gracefully.

`delivery_worker` wires a worker (guarded session, sender, retry policy) for `hookyard serve` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import typer

from hookyard.cli import heap, logs, options
from hookyard.config import Settings

if TYPE_CHECKING:
    from hookyard.services.health import Pulse
    from hookyard.store import Store

log = logging.getLogger("hookyard.worker")


@asynccontextmanager
async def delivery_worker(
    settings: Settings, store: Store, pulse: Pulse | None = None
) -> AsyncIterator[asyncio.Event]:
    """Run a worker on `store` while the block runs; set the yielded event to stop it early.
    Its loop beats `pulse`; deliveries that give up raise operational events."""
    from hookyard.delivery import http, netguard
    from hookyard.delivery.sender import Sender
    from hookyard.delivery.worker import Worker, WorkerConfig, policy_from_settings
    from hookyard.services.alerts import OperationalEvents

    guard = netguard.Guard.from_settings(settings)
    for warning in guard.warnings():
        log.warning(warning)
    config = WorkerConfig.from_settings(settings)
    stop = asyncio.Event()
    async with http.client_session(guard, limit=config.global_concurrency) as session:
        sender = Sender(session, timeout=settings.delivery_timeout_seconds)
        events = OperationalEvents(store)
        worker = Worker(
            store,
            sender,
            policy_from_settings(settings),
            config,
            on_exhausted=events.recorded,
            on_beat=pulse.beat if pulse is not None else None,
        )
        task = asyncio.create_task(worker.run(stop))
        try:
            yield stop
        finally:
            stop.set()
            await task


async def _work(settings: Settings) -> None:
    from hookyard.services.health import HeartbeatWriter, Pulse
    from hookyard.store import Store

    store = Store.from_settings(settings, pool_size=4)
    pulse = Pulse()
    heartbeat = HeartbeatWriter(store, pulse, settings.heartbeat_seconds)
    beating = asyncio.create_task(heartbeat.run())
    try:
        async with delivery_worker(settings, store, pulse) as stop:
            heap.settle()
            loop = asyncio.get_running_loop()
            for number in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(number, stop.set)
            log.info("worker started (database %s)", options.safe_url(settings.database_url))
            await stop.wait()
            log.info("stopping: finishing tries in flight")
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
        with contextlib.suppress(Exception):
            await store.heartbeats.forget(heartbeat.worker_id)
        await store.close()
    log.info("worker stopped")


def worker() -> None:
    """Deliver queued events to their callbacks until SIGTERM (any number may share PostgreSQL)."""
    from hookyard.store import migrate

    settings = options.settings()
    logs.configure(settings.log_level)
    migrate.upgrade_sync(settings.database_url)
    try:
        import uvloop

        uvloop.run(_work(settings))
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        asyncio.run(_work(settings))


def register(app: typer.Typer) -> None:
    app.command()(worker)
