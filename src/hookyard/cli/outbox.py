"""`hookyard outbox relay` and `hookyard outbox ddl`: the producer outbox's relay and its table.

The relay runs next to the product back end, not inside Hookyard: it reads the outbox table in
the product's database (`--database`) and publishes to a Hookyard over HTTP as an API client
holding `events:publish`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from typing import TYPE_CHECKING

import typer

from hookyard.cli import logs, options

if TYPE_CHECKING:
    from hookyard.outbox.relay import RelayConfig
    from hookyard.outbox.source import Source

log = logging.getLogger("hookyard.outbox")
outbox = typer.Typer(help="The producer outbox: its relay and its table.", no_args_is_help=True)


@outbox.command("relay")
def relay(
    database: str = typer.Option(
        ..., "--database", envvar="HOOKYARD_OUTBOX_DATABASE_URL", help="The product's database."
    ),
    hookyard_url: str = typer.Option(
        "http://127.0.0.1:8000", "--hookyard", envvar="HOOKYARD_OUTBOX_HOOKYARD_URL"
    ),
    client_id: str = typer.Option(..., "--client-id", envvar="HOOKYARD_OUTBOX_CLIENT_ID"),
    client_secret: str = typer.Option(
        ..., "--client-secret", envvar="HOOKYARD_OUTBOX_CLIENT_SECRET", help="Prefer the variable."
    ),
    table: str = typer.Option("hookyard_outbox", "--table", help="The outbox table's name."),
    batch: int = typer.Option(200, "--batch", min=1, max=10000, help="Rows read per pass."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, max=256, help="Aggregates at once."),
    poll_interval: float = typer.Option(0.5, "--poll-interval", min=0.01, max=60.0),
    backoff_cap: float = typer.Option(30.0, "--backoff-cap", min=0.1, max=3600.0),
    keep_published_hours: float = typer.Option(24.0, "--keep-published-hours", min=0.0),
    log_level: str = typer.Option("INFO", "--log-level", envvar="HOOKYARD_LOG_LEVEL"),
) -> None:
    """Publish committed outbox rows to Hookyard until SIGTERM (creates the table if missing)."""
    from hookyard.outbox.relay import RelayConfig

    config = RelayConfig(
        batch=batch,
        concurrency=concurrency,
        poll_interval=poll_interval,
        backoff_cap=backoff_cap,
        keep_published_hours=keep_published_hours,
    )
    logs.configure(log_level.upper())
    try:
        source = _source(database, table)
    except ValueError as exc:
        options.fail(str(exc))
    try:
        _run(_relay(source, hookyard_url, client_id, client_secret, config))
    except _Fatal as exc:
        options.fail(str(exc), code=1)


class _Fatal(Exception):
    pass


def _source(database: str, table: str) -> Source:
    from hookyard.outbox.source import Source

    return Source(database, table)


async def _relay(
    source: Source, hookyard_url: str, client_id: str, secret: str, config: RelayConfig
) -> None:
    import aiohttp
    from sqlalchemy.exc import SQLAlchemyError

    from hookyard.outbox import ingest
    from hookyard.outbox.relay import Relay

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    try:
        await source.create()
        async with aiohttp.ClientSession() as session:
            sink = ingest.Ingest(session, hookyard_url, client_id, secret)
            log.info("relaying outbox %s to %s", source.name, hookyard_url)
            await Relay(source, sink, config).run(stop)
    except SQLAlchemyError as exc:
        raise _Fatal(f"cannot use the outbox database: {exc.__class__.__name__}: {exc}") from exc
    except ingest.CredentialsRefused as exc:
        raise _Fatal(str(exc)) from exc
    finally:
        await source.close()
    log.info("relay stopped")


def _run(coroutine: Coroutine[None, None, None]) -> None:
    import uvloop

    uvloop.run(coroutine)


@outbox.command("ddl")
def ddl(
    dialect: str = typer.Option("postgresql", "--dialect", help="postgresql or sqlite"),
    table: str = typer.Option("hookyard_outbox", "--table", help="The outbox table's name."),
) -> None:
    """Print the SQL that creates the outbox table, for a migration of your own."""
    from hookyard.outbox import table as outbox_table

    dialects: dict[str, outbox_table.Dialect] = {"postgresql": "postgresql", "sqlite": "sqlite"}
    if dialect not in dialects:
        options.fail(f"--dialect {dialect!r}: give postgresql or sqlite")
    try:
        statements = outbox_table.ddl(dialects[dialect], table)
    except ValueError as exc:
        options.fail(str(exc))
    typer.echo(";\n".join(statements) + ";")


def register(app: typer.Typer) -> None:
    app.add_typer(outbox, name="outbox")
