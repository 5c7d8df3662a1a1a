"""`hookyard serve`: the API (and, once the engine is wired, the worker) in one process."""

from __future__ import annotations

import asyncio
import logging

import typer
import uvicorn

from hookyard.cli import logs, options, runtime
from hookyard.config import Settings
from hookyard.delivery import netguard
from hookyard.store import migrate

log = logging.getLogger("hookyard.serve")


def warn_about_network_allowances(settings: Settings) -> None:
    """Say loudly, at start, every way the SSRF guard has been loosened."""
    for warning in netguard.Guard.from_settings(settings).warnings():
        log.warning(warning)
    if not settings.require_https:
        log.info("plain http:// callback URLs are accepted (HOOKYARD_REQUIRE_HTTPS=false)")


async def _serve(settings: Settings, host: str, port: int) -> None:
    wired = runtime.build(settings)
    config = uvicorn.Config(
        wired.app(),
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
    """Migrate the database, then serve the API on HOST:PORT."""
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
