"""Running a use case from a command: settings, a migrated store, errors as messages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from hookyard import errors
from hookyard.cli import options

if TYPE_CHECKING:
    from hookyard.cli.runtime import Runtime

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
