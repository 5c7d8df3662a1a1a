"""`hookyard serve`: the API and a delivery worker in one process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import typer
import uvicorn
from fastapi import FastAPI

from hookyard.cli import logs, options, runtime, worker
from hookyard.config import Settings
from hookyard.delivery import netguard
from hookyard.store import Store, migrate

log = logging.getLogger("hookyard.serve")


def warn_about_network_allowances(settings: Settings) -> None:
    """Say loudly, at start, every way the SSRF guard has been loosened."""
    for warning in netguard.Guard.from_settings(settings).warnings():
        log.warning(warning)
    if not settings.require_https:
        log.info("plain http:// callback URLs are accepted (HOOKYARD_REQUIRE_HTTPS=false)")


def with_worker(app: FastAPI, settings: Settings, store: Store) -> FastAPI:
    """Run a delivery worker for the app's lifetime; it stops before the store closes."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        async with inner(running), worker.delivery_worker(settings, store):
            yield

    app.router.lifespan_context = lifespan
    return app


async def _serve(settings: Settings, host: str, port: int) -> None:
    wired = runtime.build(settings)
    config = uvicorn.Config(
        with_worker(wired.app(), settings, wired.store),
        host=host,
        port=port,
        loop="none",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
    )
    await uvicorn.Server(config).serve()


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Migrate the database, then serve the API on HOST:PORT and deliver events."""
    logs.configure()
    settings = options.settings()
    warn_about_network_allowances(settings)
    migrate.upgrade_sync(settings.database_url)
    log.info(
        "serving on http://%s:%d (database %s)", host, port, options.safe_url(settings.database_url)
    )
    try:
        import uvloop

        uvloop.run(_serve(settings, host, port))
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        asyncio.run(_serve(settings, host, port))
