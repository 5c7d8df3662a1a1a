"""Wake idle workers when deliveries become due: in-process callbacks and PostgreSQL NOTIFY.

A commit that makes deliveries due calls `notify` after it commits (every worker in this process
wakes) and, on PostgreSQL, sends `NOTIFY hookyard_deliveries` inside the transaction, which
PostgreSQL delivers to listeners in other processes when it commits. Workers also poll, so a lost
notification only costs one poll interval.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

CHANNEL = "hookyard_deliveries"

Callback = Callable[[], None]
Closer = Callable[[], Awaitable[None]]

# Per database URL, so that every Store of one database in this process (the server's, and the
# one `hookyard.publish` opens) wakes the same workers.
_local: dict[str, list[Callback]] = {}


class Wakeup:
    """The listeners of one store."""

    def __init__(self, url: str, dialect: str) -> None:
        self._url = url
        self._dialect = dialect
        self._callbacks = _local.setdefault(url, [])

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call `callback` (no arguments, non-blocking) on every wake-up; returns an unsubscribe."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    def notify(self) -> None:
        """Wake this process's workers (call after the commit)."""
        for callback in list(self._callbacks):
            callback()

    async def notify_in(self, connection: AsyncConnection) -> None:
        """Wake other processes' workers once `connection`'s transaction commits (PostgreSQL)."""
        if self._dialect == "postgresql":
            await connection.execute(text(f"NOTIFY {CHANNEL}"))

    async def listen(self, callback: Callback) -> Closer:
        """Call `callback` on NOTIFYs from other processes too (PostgreSQL); returns a closer."""
        unsubscribe = self.subscribe(callback)
        if self._dialect != "postgresql":

            async def close_local() -> None:
                unsubscribe()

            return close_local
        dsn = make_url(self._url).set(drivername="postgresql").render_as_string(False)
        connection = await asyncpg.connect(dsn)

        def on_notify(*_args: Any) -> None:
            callback()

        await connection.add_listener(CHANNEL, on_notify)

        async def close() -> None:
            unsubscribe()
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)

        return close
