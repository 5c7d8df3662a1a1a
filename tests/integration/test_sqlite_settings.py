"""The settings every SQLite connection of the store runs with, read back from SQLite itself on
each kind of connection (the write engine, the read engine and the hot-path thread)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from hookyard.store import Store

EXPECTED = {
    "journal_mode": "wal",
    "synchronous": 1,
    "foreign_keys": 1,
    "journal_size_limit": 67108864,
}


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

        assert await store.db.run_write(read) == EXPECTED
    finally:
        await store.close()
