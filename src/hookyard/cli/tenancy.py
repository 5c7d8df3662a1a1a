"""Running a use case from a command: settings, a migrated store, errors as messages."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from hookyard import errors
from hookyard.cli import options

if TYPE_CHECKING:
    from hookyard.cli.runtime import Runtime
    from hookyard.services.access import Actor

T = TypeVar("T")


def run(use_case: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `use_case` against a migrated database; a HookyardError becomes a message and exit."""
    from hookyard.cli import database, runtime

    settings = options.settings()
    database.migrate(settings)

    async def go() -> T:
        wired = runtime.build(settings)
        try:
            return await use_case(wired)
        finally:
            await wired.close()

    try:
        return asyncio.run(go())
    except errors.HookyardError as exc:
        options.report(exc)


def shell(name: str = "") -> Actor:
    """The operator at this machine's shell, as the services' actor (named `name`, or after
    the user running the command)."""
    from hookyard.services.access import Actor

    return Actor.shell(name or _user())


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"
