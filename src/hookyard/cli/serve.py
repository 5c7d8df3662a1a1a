"""`hookyard serve` (the API and a delivery worker in one process) and `hookyard api` (the API
alone, beside any number of `hookyard worker` processes on one PostgreSQL).

Heavy imports wait until a command runs, so `hookyard --help` and other commands start fast."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import typer

from hookyard.cli import heap, logs, options
from hookyard.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from hookyard.api.context import Intake
    from hookyard.cli.worker import Running
    from hookyard.services.health import Pulse
    from hookyard.store import Store

log = logging.getLogger("hookyard.serve")
STALE_SECONDS = 60.0
WATCH_SECONDS = 1.0


def warn_about_network_allowances(settings: Settings) -> None:
    """Say loudly, at start, every way the SSRF guard has been loosened."""
    from hookyard.delivery import netguard

    for warning in netguard.Guard.from_settings(settings).warnings():
        log.warning(warning)
    if not settings.require_https:
        log.info("plain http:// callback URLs are accepted (HOOKYARD_REQUIRE_HTTPS=false)")


def with_worker(
    app: FastAPI,
    settings: Settings,
    store: Store,
    on_dead: Callable[[], None] = lambda: None,
    pulse: Pulse | None = None,
) -> FastAPI:
    """Run a delivery worker for the app's lifetime; it stops before the store closes. While the
    worker is dead or stuck the app refuses events (503); a dead worker also calls `on_dead`.
    Its loop beats `pulse` (the one `/readyz` of the app reads)."""
    from hookyard.cli import worker

    inner = app.router.lifespan_context
    intake: Intake = app.state.context.intake

    @asynccontextmanager
    async def lifespan(running_app: FastAPI) -> AsyncIterator[None]:
        async with inner(running_app), worker.delivery_worker(settings, store, pulse) as running:
            watch = asyncio.create_task(_watch(running, intake, on_dead))
            try:
                yield
            finally:
                watch.cancel()

    app.router.lifespan_context = lifespan
    return app


async def _watch(running: Running, intake: Intake, on_dead: Callable[[], None]) -> None:
    """Close the intake while the worker is dead or its claim loop has not turned for
    `STALE_SECONDS`; open it again when the loop turns."""
    while not running.task.done():
        age = time.monotonic() - running.worker.heartbeat
        if age > STALE_SECONDS:
            intake.close(
                f"The delivery worker has not looked for work for {age:.0f} s; events are not"
                " accepted until it does. Check the log; restart hookyard if this lasts."
            )
        else:
            intake.open()
        await asyncio.sleep(WATCH_SECONDS)
    if running.stop.is_set() and running.failure() is None:
        return
    intake.close(
        "The delivery worker stopped, so events are not accepted; hookyard is exiting for its"
        " supervisor to restart it. Retry in a few seconds."
    )
    log.error("the delivery worker stopped: %s; exiting 1", running.failure())
    on_dead()


async def _serve(settings: Settings, host: str, port: int, *, deliver: bool) -> int:
    import uvicorn

    from hookyard.cli import runtime

    wired = runtime.build(settings)
    app = wired.app()
    dead: list[bool] = []

    def exit_with_error() -> None:
        dead.append(True)
        server.should_exit = True

    config = uvicorn.Config(
        with_worker(app, settings, wired.store, exit_with_error, wired.health.pulse)
        if deliver
        else app,
        host=host,
        port=port,
        loop="none",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    heap.settle()
    await server.serve()
    return 1 if dead else 0


HOST = typer.Option("127.0.0.1", help="Address to listen on.")
PORT = typer.Option(8000, help="Port to listen on.")


def start(host: str, port: int, *, deliver: bool) -> None:
    """Migrate, then serve until stopped (with a delivery worker when `deliver`)."""
    from hookyard.store import migrate

    settings = options.settings()
    logs.configure(settings.log_level)
    warn_about_network_allowances(settings)
    migrate.upgrade_sync(settings.database_url)
    log.info(
        "serving on http://%s:%d (database %s, %s)",
        host,
        port,
        options.safe_url(settings.database_url),
        "with a delivery worker" if deliver else "API only",
    )
    for number in (signal.SIGTERM, signal.SIGINT):
        # uvicorn shuts down gracefully on these, then raises them again with the handler that
        # was installed before it; a no-op one lets the process exit 0 after a clean stop.
        signal.signal(number, _after_graceful_stop)
    import uvloop

    if uvloop.run(_serve(settings, host, port, deliver=deliver)):
        raise typer.Exit(1)


def _after_graceful_stop(_number: int, _frame: object) -> None:
    return None


def serve(host: str = HOST, port: int = PORT) -> None:
    """Migrate the database, then serve the API on HOST:PORT and deliver events."""
    start(host, port, deliver=True)


def api(host: str = HOST, port: int = PORT) -> None:
    """Migrate the database, then serve the API only; run `hookyard worker` beside it."""
    start(host, port, deliver=False)
