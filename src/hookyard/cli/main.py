"""The `hookyard` command: each command group lives in a module of its own, registered here."""

from __future__ import annotations

import typer

from hookyard import __version__
from hookyard.cli import (
    alerts,
    approvals,
    credentials,
    database,
    demo,
    doctor,
    failures,
    keys,
    listen,
    options,
    prune,
    serve,
    subscriptions,
)
from hookyard.cli import events as events_command
from hookyard.cli import outbox as outbox_command
from hookyard.cli import worker as worker_command

app = typer.Typer(
    name="hookyard",
    help="Hookyard: a self-hosted, HCSS-compatible webhook platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain click help: typer's rich panels show every flag as `--json <bool>`, as if it took
    # a value, and cut long lines.
    rich_markup_mode=None,
)


@app.command()
def version() -> None:
    """Print Hookyard's version."""
    typer.echo(__version__)


@app.callback()
def _global(
    debug: bool = typer.Option(
        False, "--debug", help="Show the Python traceback when a command fails."
    ),
) -> None:
    failures.debug = debug


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (HOOKYARD_DATABASE_URL)."""
    settings = options.settings()
    done = database.migrate(settings)
    where = f"database at {options.safe_url(settings.database_url)}"
    if done.created:
        typer.echo(f"created the schema in the {where} (revision {done.after})")
    elif done.changed:
        typer.echo(f"upgraded the {where} from revision {done.before} to {done.after}")
    else:
        typer.echo(f"the {where} is already up to date (revision {done.after})")


app.command("check")(doctor.check)
app.command()(serve.serve)
app.command()(serve.api)
app.command()(listen.listen)
app.command()(demo.demo)
credentials.register(app)
approvals.register(app)
alerts.register(app)
subscriptions.register(app)
keys.register(app)
worker_command.register(app)
events_command.register(app)
outbox_command.register(app)
prune.register(app)


def main() -> None:
    """Entry point of the `hookyard` script: a failure is one `error:` line unless --debug."""
    failures.run(app)
