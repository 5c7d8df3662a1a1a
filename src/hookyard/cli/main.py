"""The `hookyard` command: each command group lives in a module of its own, registered here."""

from __future__ import annotations

import typer

from hookyard import __version__
from hookyard.cli import approvals, credentials, demo, keys, listen, options, serve
from hookyard.cli import events as events_command
from hookyard.cli import worker as worker_command

app = typer.Typer(
    name="hookyard",
    help="Hookyard: a self-hosted, HCSS-compatible webhook platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print Hookyard's version."""
    typer.echo(__version__)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (HOOKYARD_DATABASE_URL)."""
    from hookyard.store import migrate as migrations

    settings = options.settings()
    migrations.upgrade_sync(settings.database_url)
    typer.echo(f"database at {options.safe_url(settings.database_url)} is up to date")


app.command()(serve.serve)
app.command()(serve.api)
app.command()(listen.listen)
app.command()(demo.demo)
credentials.register(app)
approvals.register(app)
keys.register(app)
worker_command.register(app)
events_command.register(app)


def main() -> None:
    """Entry point of the `hookyard` script."""
    app()
