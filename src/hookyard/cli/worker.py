"""`hookyard worker`: deliver queued deliveries until SIGTERM or SIGINT, then stop gracefully.

`delivery_worker` wires a worker (guarded session, sender, retry policy) and the side tasks it
runs beside its deliveries: the url probes (`hookyard.delivery.probing`) and the pruner that
applies the retention settings (`hookyard.delivery.pruner`), for `hookyard serve` too. A worker
whose side task could not be kept running (its own or one of these) stops, and the process exits
1 so that its supervisor (systemd, Kubernetes, Docker) starts a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import typer

from hookyard.cli import heap, logs, options, serve
from hookyard.config import Settings

if TYPE_CHECKING:
    from hookyard.delivery.netguard import Guard
    from hookyard.delivery.supervision import SideTask
    from hookyard.delivery.worker import Worker
    from hookyard.services.health import Pulse
    from hookyard.services.probes import UrlProbes
    from hookyard.store import Store

log = logging.getLogger("hookyard.worker")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _EarlyStop:
    """A SIGTERM or SIGINT that came while the worker was still starting (migrating, checking
    keys, connecting): remembered, so the worker stops as soon as it runs, and exits 0 like any
    other stop, instead of dying of the signal (exit -15) in the middle of its start."""

    requested = False

    @classmethod
    def remember(cls, _signum: int, _frame: object) -> None:
        cls.requested = True


@dataclass
class Running:
    """A worker running in this process: set `stop` to stop it; `task` ends when it stopped."""

    worker: Worker
    stop: asyncio.Event
    task: asyncio.Task[None]

    def failure(self) -> BaseException | None:
        """Why the worker stopped on its own, or None (still running, or stopped when told)."""
        if not self.task.done() or self.task.cancelled():
            return None
        return self.task.exception()


@asynccontextmanager
async def delivery_worker(
    settings: Settings, store: Store, pulse: Pulse | None = None
) -> AsyncIterator[Running]:
    """Run a worker on `store` while the block runs; set the yielded `stop` to stop it early.
    Its loop beats `pulse`; deliveries that give up raise operational events. Beside its
    deliveries it probes Stopped urls and prunes (unless HOOKYARD_PRUNE_INTERVAL_SECONDS is 0)."""
    from hookyard.delivery import http, netguard
    from hookyard.delivery.sender import Sender
    from hookyard.delivery.worker import Worker, WorkerConfig, policy_from_settings
    from hookyard.services.alerts import OperationalEvents

    guard = netguard.Guard.from_settings(settings)
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
        )
        if pulse is not None:
            pulse.follow(lambda: worker.heartbeat)
        task = asyncio.create_task(worker.run(stop, beside(settings, store, guard)))
        try:
            yield Running(worker, stop, task)
        finally:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)


def beside(settings: Settings, store: Store, guard: Guard) -> list[SideTask]:
    """What a worker runs beside its deliveries: url probing, and pruning unless
    HOOKYARD_PRUNE_INTERVAL_SECONDS is 0."""
    from hookyard.delivery.probing import Probing
    from hookyard.delivery.pruner import Pruner, PrunerConfig
    from hookyard.delivery.supervision import SideTask

    tasks = [SideTask("probe loop", Probing(url_probes(settings, store, guard)).run)]
    config = PrunerConfig.from_settings(settings)
    if config.enabled:
        tasks.append(SideTask("pruner", Pruner(store.retention, config).run))
    return tasks


def url_probes(settings: Settings, store: Store, guard: Guard) -> UrlProbes:
    """The probes of this deployment: its schedule, held bounds and challenge timeout; a passing
    probe raises `subscription.recovered` (and `subscription.reactivated` when it made the
    url's records Active again) as operational events (`hookyard.services.alerts`)."""
    from hookyard.delivery.prober import Prober
    from hookyard.probe_schedule import ProbeSchedule
    from hookyard.services.alerts import OperationalEvents
    from hookyard.services.probes import HeldBounds, UrlProbes

    schedule = ProbeSchedule(
        timedelta(seconds=settings.probe_interval_seconds),
        timedelta(hours=settings.probe_window_hours),
    )
    held = HeldBounds(settings.held_cap_per_record, timedelta(hours=settings.held_retention_hours))
    prober = Prober(guard, timeout=settings.challenge_timeout_seconds)
    announce = OperationalEvents(store).url_recovered
    return UrlProbes(store, prober, schedule, held=held, announce=announce)


async def _work(settings: Settings) -> int:
    from hookyard.store import Store

    store = Store.from_settings(settings, pool_size=4)
    try:
        # The worker writes its own heartbeat row, which `/readyz` of API processes reads.
        async with delivery_worker(settings, store) as running:
            heap.settle()
            loop = asyncio.get_running_loop()
            for number in STOP_SIGNALS:
                loop.add_signal_handler(number, running.stop.set)
            if _EarlyStop.requested:
                log.info("stop requested while starting")
                running.stop.set()
            log.info("worker started (database %s)", options.safe_url(settings.database_url))
            await asyncio.wait(
                [running.task, asyncio.create_task(running.stop.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            log.info("stopping: finishing tries in flight")
        failure = running.failure()
    finally:
        await store.close()
    if failure is not None:
        log.error("worker stopped: %s; exiting 1 so that a supervisor restarts it", failure)
        return 1
    log.info("worker stopped")
    return 0


def worker() -> None:
    """Deliver queued events to their callbacks until SIGTERM (any number may share PostgreSQL)."""
    for number in STOP_SIGNALS:
        signal.signal(number, _EarlyStop.remember)
    from hookyard.cli import database, startup
    from hookyard.services import key_check

    settings = options.settings()
    logs.configure(settings.log_level, settings.log_format)
    database.migrate(settings)
    startup.check_keys(settings, (key_check.SECRET,))
    serve.warn_about_network_allowances(settings)
    import uvloop

    if uvloop.run(_work(settings)):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(worker)
