"""Shared CLI plumbing: settings loaded once, JSON output, error reporting."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from pydantic import ValidationError

from hookyard import errors
from hookyard.config import Settings

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
"""The `--json` flag of every command that prints something a script may read."""


def settings(**overrides: Any) -> Settings:
    """The settings from `HOOKYARD_*` variables, with CLI flags given as overrides."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(setting_problem(error, given) for error in exc.errors())
        fail(f"{problems} (every setting: docs/reference/config.md)")


def setting_problem(error: Any, flags: dict[str, Any]) -> str:
    """One invalid setting in the user's terms: the variable (or flag), its value, the fix."""
    message = str(error.get("msg", "is invalid"))
    if not error.get("loc"):
        # A check across settings (a model validator): its message names the settings itself;
        # there is no HOOKYARD_SETTINGS to blame.
        return message.removeprefix("Value error, ")
    name = str(error["loc"][0])
    where = f"--{name.replace('_', '-')}" if name in flags else f"HOOKYARD_{name.upper()}"
    if error.get("type") == "extra_forbidden":
        return f"{where} is not a Hookyard setting; remove it"
    value = error.get("input")
    shown = f"={value!r}" if isinstance(value, str | int | float) else ""
    return f"{where}{shown}: {message[0].lower()}{message[1:]}"


def safe_url(url: str) -> str:
    """A database URL fit for printing: the password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def emit(data: Any, *, as_json: bool, text: str) -> None:
    """Print `data` as JSON with --json, else `text`."""
    typer.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error for the user on stderr and exit non-zero."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def report(exc: errors.HookyardError) -> NoReturn:
    """`exc` as one `error:` line: the operator's detail where it has one (the CLI's user is the
    operator), and exit 2 for bad input, 1 otherwise."""
    fail(
        exc.operator_detail or exc.detail, code=1 if not isinstance(exc, errors.InvalidInput) else 2
    )


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
