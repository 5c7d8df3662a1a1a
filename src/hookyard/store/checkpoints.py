"""SQLite's WAL checkpoints, done beside the writers instead of at their commits.

No connection of the store checkpoints when it commits (`wal_autocheckpoint=0`, in
`database.SQLITE_PRAGMAS`): a commit that crosses 1,000 WAL pages would copy them into the
database and fsync both while it holds the write lock, stalling every write of the process for
tens of milliseconds (under load, each time the worker's heartbeat committed). Instead one
`Checkpointer` per database and process, started at its first write (`Database.checkpoints`),
runs `PRAGMA wal_checkpoint(PASSIVE)` every `CHECKPOINT_SECONDS` on a connection of its own: it
never blocks a writer, and the next write after a complete checkpoint starts the WAL over. The
last connection to close checkpoints what is left, as SQLite always does.
"""

from __future__ import annotations

import sqlite3
import threading

CHECKPOINT_SECONDS = 0.25


class Checkpointer:
    """A thread checkpointing the WAL of the database at `path` until stopped."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="hookyard-sqlite-checkpoint", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None)
        try:
            connection.execute("PRAGMA busy_timeout=1000")
            while not self._stopping.wait(CHECKPOINT_SECONDS):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    continue  # busy or away: the next round tries again
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop the thread (it finishes the checkpoint under way first)."""
        self._stopping.set()
        self._thread.join(timeout=10)
