"""`hookyard serve` (the API and a delivery worker in one process) and `hookyard api` (the API
alone, beside any number of `hookyard worker` processes on one PostgreSQL).

Heavy imports wait until a command runs, so `hookyard --help` and other commands start fast."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import typer

from hookyard.cli import heap, logs, options
from hookyard.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from hookyard.store import Store

log = logging.getLogger("hookyard.serve")


def warn_about_network_allowances(settings: Settings) -> None:
    """Say loudly, at start, every way the SSRF guard has been loosened."""
    from hookyard.delivery import netguard

    for warning in netguard.Guard.from_settings(settings).warnings():
        log.warning(warning)
    if not settings.require_https:
        log.info("plain http:// callback URLs are accepted (HOOKYARD_REQUIRE_HTTPS=false)")


def with_worker(app: FastAPI, settings: Settings, store: Store) -> FastAPI:
    """Run a delivery worker for the app's lifetime; it stops before the store closes."""
    from hookyard.cli import worker

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        async with inner(running), worker.delivery_worker(settings, store):
            yield

    app.router.lifespan_context = lifespan
    return app


async def _serve(settings: Settings, host: str, port: int, *, deliver: bool) -> None:
    """Serve until stopped; behind a proxy, the client address comes from X-Forwarded-For when
    the proxy's address is in HOOKYARD_FORWARDED_ALLOW_IPS (HOOKYARD_PROXY_HEADERS)."""
    import uvicorn

    from hookyard.cli import runtime

    wired = runtime.build(settings)
    app = wired.app()
    config = uvicorn.Config(
        with_worker(app, settings, wired.store) if deliver else app,
        host=host,
        port=port,
        loop="none",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=settings.proxy_headers,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    heap.settle()
    await uvicorn.Server(config).serve()


HOST = typer.Option("127.0.0.1", help="Address to listen on.")
PORT = typer.Option(8000, help="Port to listen on.")
PROXY_HEADERS = typer.Option(
    None,
    "--proxy-headers/--no-proxy-headers",
    help="Take the client address and scheme from X-Forwarded-For and X-Forwarded-Proto sent "
    "by a trusted proxy [default: HOOKYARD_PROXY_HEADERS, true].",
    show_default=False,
)
FORWARDED_ALLOW_IPS = typer.Option(
    None,
    "--forwarded-allow-ips",
    help="Comma-separated addresses (or networks, or *) of the proxies whose forwarded headers "
    "are trusted [default: HOOKYARD_FORWARDED_ALLOW_IPS, 127.0.0.1].",
    show_default=False,
)


def start(
    host: str,
    port: int,
    *,
    deliver: bool,
    proxy_headers: bool | None = None,
    forwarded_allow_ips: str | None = None,
) -> None:
    """Migrate, check the keys, then serve until stopped (with a delivery worker when
    `deliver`)."""
    from hookyard.cli import startup
    from hookyard.services import key_check
    from hookyard.store import migrate

    settings = options.settings(
        proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips
    )
    logs.configure(settings.log_level)
    warn_about_network_allowances(settings)
    migrate.upgrade_sync(settings.database_url)
    startup.check_keys(settings, (key_check.JWT, key_check.SECRET))
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
    try:
        import uvloop

        uvloop.run(_serve(settings, host, port, deliver=deliver))
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        asyncio.run(_serve(settings, host, port, deliver=deliver))


def _after_graceful_stop(_number: int, _frame: object) -> None:
    return None


def serve(
    host: str = HOST,
    port: int = PORT,
    proxy_headers: bool | None = PROXY_HEADERS,
    forwarded_allow_ips: str | None = FORWARDED_ALLOW_IPS,
) -> None:
    """Migrate the database, then serve the API on HOST:PORT and deliver events."""
    start(
        host,
        port,
        deliver=True,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )


def api(
    host: str = HOST,
    port: int = PORT,
    proxy_headers: bool | None = PROXY_HEADERS,
    forwarded_allow_ips: str | None = FORWARDED_ALLOW_IPS,
) -> None:
    """Migrate the database, then serve the API only; run `hookyard worker` beside it."""
    start(
        host,
        port,
        deliver=False,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )
