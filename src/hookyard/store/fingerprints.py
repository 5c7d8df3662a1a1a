"""The keys the database has seen: per kind (`jwt`, `secret`), each key's id, a fingerprint (a
hash, never the key), when it was first seen and since when it is the current one (the key that
signs or seals). Processes compare their keys with these at start (`services.key_check`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import RowMapping

from hookyard import clock
from hookyard.store import dialect, schema
from hookyard.store.database import Database

table = schema.key_fingerprints


@dataclass(frozen=True)
class SeenKey:
    """A key the database has seen."""

    kind: str
    kid: str
    fingerprint: str
    first_seen_at: datetime
    current_since: datetime | None


def _seen(row: RowMapping) -> SeenKey:
    return SeenKey(
        row["kind"], row["kid"], row["fingerprint"], row["first_seen_at"], row["current_since"]
    )


class KeyFingerprintRepository:
    """Reads and records the fingerprints of keys in use."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def seen(self, kind: str) -> list[SeenKey]:
        """The keys of `kind` the database has seen, the current one first."""
        statement = select(table).where(table.c.kind == kind)
        async with self._db.read() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        keys = [_seen(row) for row in rows]
        return sorted(keys, key=_current_first)

    async def record(self, kind: str, keys: Mapping[str, str], current: str) -> None:
        """Note the keys (id to fingerprint) not seen before, and `current` as the current key
        unless it already is."""
        now = clock.utcnow()
        async with self._db.write() as connection:
            rows = await connection.execute(select(table).where(table.c.kind == kind))
            known = {row["kid"]: _seen(row) for row in rows.mappings()}
            for kid, fingerprint in keys.items():
                if kid not in known:
                    values = {"kind": kind, "kid": kid, "fingerprint": fingerprint}
                    statement = self._insert().values(**values, first_seen_at=now)
                    await connection.execute(statement.on_conflict_do_nothing())
            latest = sorted(known.values(), key=_current_first)
            if not latest or latest[0].kid != current or latest[0].current_since is None:
                key = and_(table.c.kind == kind, table.c.kid == current)
                await connection.execute(update(table).where(key).values(current_since=now))

    def _insert(self) -> dialect.Upsert:
        """An INSERT that can skip a row another process added first (two starting at once)."""
        return self._db.dialect_rules.upsert(table)

    async def forget(self, kind: str, kid: str) -> bool:
        """Remove a key's record (the key itself is not here); whether there was one."""
        key = and_(table.c.kind == kind, table.c.kid == kid)
        async with self._db.write() as connection:
            result = await connection.execute(delete(table).where(key))
        return bool(result.rowcount)


def _current_first(key: SeenKey) -> tuple[bool, float]:
    since = key.current_since
    return (since is None, -since.timestamp() if since else 0.0)
