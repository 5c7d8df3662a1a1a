"""`hookyard serve` (the API and a delivery worker in one process) and `hookyard api` (the API
alone, beside any number of `hookyard worker` processes on one PostgreSQL; with `--processes N`,
N processes serve its port: `hookyard.cli.supervisor`).

Heavy imports wait until a command runs, so `hookyard --help` and other commands start fast."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import structlog
import typer

from hookyard.cli import failures, heap, logs, options
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


def base_url(host: str, port: int) -> str:
    """The URL a browser on this machine reaches `host`:`port` at."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on `host`:`port`, or one clear error line and exit 1."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        options.fail(f"cannot listen on --host {host!r}: {exc}; pass an address of this machine", 1)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        options.fail(_bind_problem(host, port, exc), 1)
    sock.set_inheritable(True)
    return sock


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another hookyard?); stop that process "
            f"or pass another --port"
        )
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port}; pass a --port above 1023"
    return f"cannot listen on {host}:{port} ({exc.strerror}); pass another --host or --port"


async def _serve(
    settings: Settings, sock: socket.socket, *, deliver: bool, watch_fd: int | None = None
) -> int:
    """Serve until stopped (or, with `watch_fd`, until the supervising parent is gone); behind a
    proxy, the client address comes from X-Forwarded-For when the proxy's address is in
    HOOKYARD_FORWARDED_ALLOW_IPS (HOOKYARD_PROXY_HEADERS)."""
    import uvicorn

    from hookyard.cli import runtime, supervisor

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
        loop="none",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=settings.proxy_headers,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    server = uvicorn.Server(config)

    def parent_gone() -> None:
        server.should_exit = True

    if watch_fd is not None:
        supervisor.watch_parent(watch_fd, parent_gone)
    heap.settle()
    await server.serve(sockets=[sock])
    return 1 if dead else 0


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
PROCESSES = typer.Option(
    None,
    "--processes",
    min=1,
    max=64,
    help="How many processes serve the port, on PostgreSQL only: this one binds it, starts them "
    "and starts one again when it dies [default: HOOKYARD_API_PROCESSES, 1].",
    show_default=False,
)
FD = typer.Option(None, "--fd", hidden=True)
WATCH_FD = typer.Option(None, "--watch-fd", hidden=True)


def start(
    host: str,
    port: int,
    *,
    deliver: bool,
    banner: str | None = None,
    migrated: bool = False,
    proxy_headers: bool | None = None,
    forwarded_allow_ips: str | None = None,
    processes: int | None = None,
) -> None:
    """Migrate, check the keys, then serve until stopped (with a delivery worker when
    `deliver`; in `processes` API processes when not, on PostgreSQL).

    With a `banner`, it is printed on stdout instead of the start-up log lines, once the port is
    bound (so a busy port is reported before it, not after)."""
    # Links Hookyard builds (the issuer, entityUrl) name the address it serves unless told.
    os.environ.setdefault("HOOKYARD_PUBLIC_BASE_URL", base_url(host, port))
    settings = options.settings(
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        api_processes=processes,
    )
    count = 1 if deliver else settings.api_processes
    if count > 1 and settings.is_sqlite:
        asked = f"--processes {count}" if processes else f"HOOKYARD_API_PROCESSES={count}"
        options.fail(_one_writer(count, asked))
    from hookyard.cli import database, startup
    from hookyard.services import key_check

    logs.configure(settings.log_level, settings.log_format)
    if not migrated:
        database.migrate(settings)
    startup.check_keys(settings, (key_check.JWT, key_check.SECRET))
    sock = bind(host, port)
    if banner is None:
        warn_about_network_allowances(settings)
        log.info(
            "serving on %s (database %s, %s)",
            base_url(host, port),
            options.safe_url(settings.database_url),
            "with a delivery worker" if deliver else _api_only(count),
        )
    else:
        typer.echo(banner)
    if count > 1:
        flags = _child_flags(proxy_headers, forwarded_allow_ips)
        raise typer.Exit(_supervise(sock, count, flags))
    _run(settings, sock, deliver=deliver)


def _one_writer(count: int, asked: str) -> str:
    return (
        f"{asked} needs PostgreSQL: SQLite has one writer. In one process Hookyard queues its "
        "writes behind one lock and commits publishes that arrive together in one transaction; "
        f"{count} processes would share neither and wait on each other for SQLite's file lock "
        "(SQLITE_BUSY) instead. Serve SQLite with one process, or use PostgreSQL "
        "(HOOKYARD_DATABASE_URL=postgresql://...) for several"
    )


def _api_only(count: int) -> str:
    return "API only" if count == 1 else f"API only, {count} processes"


def _child_flags(proxy_headers: bool | None, forwarded_allow_ips: str | None) -> list[str]:
    """The flags given to the parent that its API processes need too (the rest of their settings
    comes from the environment they inherit)."""
    flags = []
    if proxy_headers is not None:
        flags.append("--proxy-headers" if proxy_headers else "--no-proxy-headers")
    if forwarded_allow_ips is not None:
        flags += ["--forwarded-allow-ips", forwarded_allow_ips]
    return flags


def _supervise(sock: socket.socket, count: int, flags: list[str]) -> int:
    """Run `count` API processes on `sock` until stopped; the parent's exit code."""
    from hookyard.cli import supervisor

    debug = ["--debug"] if failures.debug else []
    argv = [sys.executable, "-m", "hookyard", *debug, "api", *flags]
    with supervisor.counted_together(os.environ) as env:
        return asyncio.run(supervisor.Supervisor(argv, sock, count, env=env).run())


def serve_inherited(
    fd: int,
    watch_fd: int | None,
    *,
    proxy_headers: bool | None = None,
    forwarded_allow_ips: str | None = None,
) -> None:
    """Serve the API on the listening socket `fd`, inherited from `hookyard api --processes N`
    (which migrated the database and checked the keys), until stopped or the pipe `watch_fd`
    says the parent is gone."""
    settings = options.settings(
        proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips
    )
    logs.configure(settings.log_level, settings.log_format)
    # N processes write to one log: each of their lines says which one wrote it.
    structlog.contextvars.bind_contextvars(pid=os.getpid())
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        options.fail(
            f"--fd {fd} is not a socket this process inherited ({exc.strerror}); "
            "`hookyard api --processes N` passes it to the processes it starts",
            1,
        )
    _run(settings, sock, deliver=False, watch_fd=watch_fd)


def _run(
    settings: Settings, sock: socket.socket, *, deliver: bool, watch_fd: int | None = None
) -> None:
    for number in (signal.SIGTERM, signal.SIGINT):
        # uvicorn shuts down gracefully on these, then raises them again with the handler that
        # was installed before it; a no-op one lets the process exit 0 after a clean stop.
        signal.signal(number, _after_graceful_stop)
    import uvloop

    if uvloop.run(_serve(settings, sock, deliver=deliver, watch_fd=watch_fd)):
        raise typer.Exit(1)


def _after_graceful_stop(_number: int, _frame: object) -> None:
    return None


def serve(
    host: str = HOST,
    port: int = PORT,
    proxy_headers: bool | None = PROXY_HEADERS,
    forwarded_allow_ips: str | None = FORWARDED_ALLOW_IPS,
) -> None:
    """Migrate the database, then serve the API on HOST:PORT and deliver events, in one process
    (for more, run `hookyard api --processes N` and `hookyard worker` on PostgreSQL)."""
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
    processes: int | None = PROCESSES,
    fd: int | None = FD,
    watch_fd: int | None = WATCH_FD,
) -> None:
    """Migrate the database, then serve the API only; run `hookyard worker` beside it."""
    if fd is not None:
        serve_inherited(
            fd, watch_fd, proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips
        )
        return
    start(
        host,
        port,
        deliver=False,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        processes=processes,
    )
