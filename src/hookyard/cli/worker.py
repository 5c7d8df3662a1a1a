"""`hookyard worker`: deliver queued deliveries until SIGTERM or SIGINT, then stop gracefully.

`delivery_worker` wires a worker (guarded session, sender, retry policy) for `hookyard serve` too.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import typer

from hookyard.cli import heap, logs, options, serve
from hookyard.config import Settings

if TYPE_CHECKING:
    from hookyard.store import Store

log = logging.getLogger("hookyard.worker")


@asynccontextmanager
async def delivery_worker(settings: Settings, store: Store) -> AsyncIterator[asyncio.Event]:
    """Run a worker on `store` while the block runs; set the yielded event to stop it early."""
    from hookyard.delivery import http, netguard
    from hookyard.delivery.sender import Sender
    from hookyard.delivery.worker import Worker, WorkerConfig, policy_from_settings

    guard = netguard.Guard.from_settings(settings)
    config = WorkerConfig.from_settings(settings)
    stop = asyncio.Event()
    async with http.client_session(guard, limit=config.global_concurrency) as session:
        sender = Sender(session, timeout=settings.delivery_timeout_seconds)
        worker = Worker(store, sender, policy_from_settings(settings), config)
        task = asyncio.create_task(worker.run(stop))
        try:
            yield stop
        finally:
            stop.set()
            await task


async def _work(settings: Settings) -> None:
    from hookyard.store import Store

    store = Store.from_settings(settings, pool_size=4)
    try:
        async with delivery_worker(settings, store) as stop:
            heap.settle()
            loop = asyncio.get_running_loop()
            for number in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(number, stop.set)
            log.info("worker started (database %s)", options.safe_url(settings.database_url))
            await stop.wait()
            log.info("stopping: finishing tries in flight")
    finally:
        await store.close()
    log.info("worker stopped")


def worker() -> None:
    """Deliver queued events to their callbacks until SIGTERM (any number may share PostgreSQL)."""
    from hookyard.cli import database

    settings = options.settings()
    logs.configure(settings.log_level, settings.log_format)
    database.migrate(settings)
    serve.warn_about_network_allowances(settings)
    try:
        import uvloop

        uvloop.run(_work(settings))
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        asyncio.run(_work(settings))


def register(app: typer.Typer) -> None:
    app.command()(worker)
