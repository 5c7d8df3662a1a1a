"""The last line of defence: an error nobody turned into a message becomes one `error:` line
(exit 1) instead of a traceback, unless `hookyard --debug` asked for the traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable

import typer

from hookyard import errors

debug = False


def describe(exc: BaseException) -> str:
    """One line for an unexpected error: what it was, and how to see more."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{text} ({type(exc).__name__}); run again with --debug to see where it happened"


def run(app: Callable[[], object]) -> None:
    """Run the Typer `app`, reporting what escapes it in one line."""
    try:
        app()
    except errors.HookyardError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc.operator_detail or exc.detail}", err=True)
        sys.exit(2 if isinstance(exc, errors.InvalidInput) else 1)
    except Exception as exc:
        if debug:
            raise
        typer.echo(f"error: {describe(exc)}", err=True)
        sys.exit(1)
