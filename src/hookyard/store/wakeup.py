"""Wake idle workers in this process when deliveries become due.

A commit that makes deliveries due calls `notify` after it commits, and every worker of this
process on the same database wakes. Other processes are woken by the queue backend (PostgreSQL
`NOTIFY`, see `hookyard.store.queue`); workers also poll, so a lost wake-up costs at most one poll
interval.
"""

from __future__ import annotations

from collections.abc import Callable

Callback = Callable[[], None]

# Per database URL, so that every Store of one database in this process (the server's, and the
# one `hookyard.publish` opens) wakes the same workers.
_local: dict[str, list[Callback]] = {}


class Wakeup:
    """The in-process listeners of one database."""

    def __init__(self, url: str) -> None:
        self._callbacks = _local.setdefault(url, [])

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call `callback` (no arguments, non-blocking) on every wake-up; returns an unsubscribe."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    def notify(self) -> None:
        """Wake this process's workers (call after the commit)."""
        for callback in list(self._callbacks):
            callback()
