"""The settings every SQLite connection of the store runs with, read back from SQLite itself on
each kind of connection (the write engine, the read engine and the hot-path thread)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from hookyard.store import Store
from hookyard.store.queue.sqlite import SqliteQueue
from hookyard.store.queue.sqlite_writer import SqliteWriter

EXPECTED = {
    "journal_mode": "wal",
    "synchronous": 1,
    "foreign_keys": 1,
    "journal_size_limit": 67108864,
    "wal_autocheckpoint": 0,
}


def _writer(store: Store) -> SqliteWriter:
    """The hot-path connection of the store's delivery queue."""
    assert isinstance(store.queue, SqliteQueue)
    return store.queue.writer


async def test_every_sqlite_connection_has_the_store_settings(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hookyard.db'}"
    store = Store(url)
    try:
        for engine in (store.db.writer, store.db.reader):
            async with engine.connect() as connection:
                found = {
                    name: (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                    for name in EXPECTED
                }
            assert found == EXPECTED

        def read(connection: sqlite3.Connection) -> dict[str, object]:
            return {name: connection.execute(f"PRAGMA {name}").fetchone()[0] for name in EXPECTED}

        assert await _writer(store).run(read) == EXPECTED
    finally:
        await store.close()


async def test_checkpoints_are_left_to_the_checkpointer(tmp_path: Path) -> None:
    """No connection checkpoints at commit (EXPECTED above): the checkpointer thread copies
    what the hot-path connection and the SQLAlchemy writer wrote into the database file."""
    path = tmp_path / "hookyard.db"
    store = Store(f"sqlite+aiosqlite:///{path}")
    try:

        def setting(connection: sqlite3.Connection) -> int:
            return int(connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0])

        assert await _writer(store).run(setting, inline=True) == 0

        def write(connection: sqlite3.Connection) -> None:
            connection.execute("CREATE TABLE IF NOT EXISTS marks (n INTEGER)")
            connection.execute("INSERT INTO marks VALUES (1)")

        for inline in (True, False) * 20:
            await _writer(store).run(write, inline=inline)
        async with store.db.write() as connection:
            await connection.execute(text("INSERT INTO marks VALUES (2)"))

        def in_the_file() -> int:
            # `immutable` reads the database file alone, without the WAL: only what was
            # checkpointed.
            with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as reader:
                try:
                    return int(reader.execute("SELECT count(*) FROM marks").fetchone()[0])
                except sqlite3.DatabaseError:  # no table yet, or a page caught mid-copy
                    return 0

        deadline = time.monotonic() + 20
        while in_the_file() < 41:
            assert time.monotonic() < deadline, "the WAL was not checkpointed into the file"
            await asyncio.sleep(0.05)
    finally:
        await store.close()


async def test_a_small_write_waits_for_another_connection_without_stopping_the_loop(
    tmp_path: Path,
) -> None:
    """Small writes run on the event loop; when another connection (another process, another
    store) holds the write lock, the write waits in the writer thread, and the loop goes on."""
    path = tmp_path / "hookyard.db"
    store = Store(f"sqlite+aiosqlite:///{path}")
    try:

        def write(connection: sqlite3.Connection) -> str:
            connection.execute("CREATE TABLE IF NOT EXISTS marks (n INTEGER)")
            connection.execute("INSERT INTO marks VALUES (1)")
            return "written"

        await _writer(store).run(write, inline=True)
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            other.execute("BEGIN IMMEDIATE")
            waiting = asyncio.ensure_future(_writer(store).run(write, inline=True))
            ticks = 0
            deadline = time.monotonic() + 20
            while ticks < 50:  # the loop keeps turning while the write waits
                assert time.monotonic() < deadline
                assert not waiting.done()
                await asyncio.sleep(0.001)
                ticks += 1
            await asyncio.to_thread(other.execute, "COMMIT")
            assert await asyncio.wait_for(waiting, 20) == "written"
        finally:
            other.close()
    finally:
        await store.close()
