"""`hookyard prune`: delete what the retention settings no longer keep, now, with progress.

The worker does the same in the background (`hookyard.delivery.pruner`); this command is for a
first clean-up of a large database, for cron when the worker's pruning is off
(`HOOKYARD_PRUNE_INTERVAL_SECONDS=0`), and, with `--dry-run`, for seeing what would go.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, NoReturn

import typer

from hookyard import errors
from hookyard.cli import options
from hookyard.config import Settings

if TYPE_CHECKING:
    from hookyard.delivery.pruner import Pruner
    from hookyard.store.retention import Pruned

DRY_RUN = typer.Option(False, "--dry-run", help="Only count what would be deleted, per table.")
JSON = options.JSON


def prune(dry_run: bool = DRY_RUN, as_json: bool = JSON) -> None:
    """Delete settled deliveries, their attempts and unreferenced events past their retention."""
    from sqlalchemy.exc import DBAPIError

    from hookyard.store import migrate

    settings = options.settings()
    try:
        migrate.upgrade_sync(settings.database_url)
        counts = asyncio.run(_prune(settings, dry_run=dry_run, as_json=as_json))
    except errors.Unavailable as exc:  # what migrating says of a database it cannot use
        cause = exc.__cause__
        if not isinstance(cause, OSError | DBAPIError):
            options.fail(exc.detail, 1)
        _unreachable(settings, cause)
    except (OSError, DBAPIError) as exc:
        _unreachable(settings, exc)
    verb = "would delete" if dry_run else "deleted"
    lines = [f"{table:<11} {count:>12,}" for table, count in counts.as_dict().items()]
    header = f"{verb} (succeeded older than {settings.retention_days:g} days, failed and held"
    header += f" older than {settings.retention_failed_days:g} days):"
    options.emit(
        {"dryRun": dry_run, **counts.as_dict()}, as_json=as_json, text="\n".join([header, *lines])
    )


def _unreachable(settings: Settings, exc: BaseException) -> NoReturn:
    """One line, exit 1: an unreachable database is not a usage error."""
    where = options.safe_url(settings.database_url)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    options.fail(f"cannot reach the database at {where}: {reason}", 1)


async def _prune(settings: Settings, *, dry_run: bool, as_json: bool) -> Pruned:
    from hookyard.delivery.pruner import Pruner, PrunerConfig
    from hookyard.store import Store

    store = Store.from_settings(settings, pool_size=2)
    try:
        pruner = Pruner(store.retention, PrunerConfig.from_settings(settings))
        due = await store.retention.count(pruner.cutoffs())
        if dry_run:
            return due
        return await _with_progress(pruner, due, quiet=as_json)
    finally:
        await store.close()


async def _with_progress(pruner: Pruner, due: Pruned, *, quiet: bool) -> Pruned:
    from rich.progress import Progress

    with Progress(disable=quiet, transient=True) as progress:
        task = progress.add_task("pruning", total=due.total or None)
        return await pruner.prune(progress=lambda done: progress.advance(task, done.total))


def register(app: typer.Typer) -> None:
    app.command()(prune)
