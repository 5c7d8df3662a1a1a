"""Shared CLI plumbing: settings loaded once, JSON output, error reporting."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from pydantic import ValidationError

from hookyard import errors
from hookyard.config import Settings


def settings(**overrides: Any) -> Settings:
    """The settings from `HOOKYARD_*` variables, with CLI flags given as overrides."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        fail(f"invalid configuration: {exc}")


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
    fail(exc.detail, code=1 if not isinstance(exc, errors.InvalidInput) else 2)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
