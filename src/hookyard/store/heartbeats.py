"""Worker heartbeats: each worker process writes when its claim loop last turned, so that a
process that is not the worker (`/readyz` of an API process elsewhere, an operator) can tell a
live worker from a dead one; and the database checks `/readyz` makes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, text, update

from hookyard.store import schema
from hookyard.store.database import Database

_beats = schema.worker_heartbeats
STALE_BEATS = 100
STALE_AT_LEAST = timedelta(days=1)


def stale_after(interval_seconds: float) -> timedelta:
    """How long a row may go without a beat before it is a dead worker's, removed by `prune`:
    a day, or `STALE_BEATS` intervals when that is longer."""
    return max(STALE_AT_LEAST, timedelta(seconds=STALE_BEATS * interval_seconds))


@dataclass(frozen=True)
class Heartbeat:
    """One worker's last beat; it beats every `interval_seconds` while its claim loop turns."""

    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    beat_at: datetime
    interval_seconds: float


class HeartbeatRepository:
    """Writes and reads `worker_heartbeats` (one row per worker process)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def beat(self, heartbeat: Heartbeat) -> None:
        """Record `heartbeat` (insert the worker's row, or move its `beat_at`)."""
        async with self._db.write() as connection:
            moved = await connection.execute(
                update(_beats)
                .where(_beats.c.worker_id == heartbeat.worker_id)
                .values(beat_at=heartbeat.beat_at, interval_seconds=heartbeat.interval_seconds)
            )
            if not moved.rowcount:
                await connection.execute(insert(_beats).values(**heartbeat.__dict__))

    async def forget(self, worker_id: str) -> None:
        """A worker that stopped cleanly removes its row."""
        async with self._db.write() as connection:
            await connection.execute(delete(_beats).where(_beats.c.worker_id == worker_id))

    async def prune(self, before: datetime) -> int:
        """Remove the rows of workers that have not beaten since `before` (they died without
        removing theirs); how many."""
        async with self._db.write() as connection:
            pruned = await connection.execute(delete(_beats).where(_beats.c.beat_at < before))
            return max(0, pruned.rowcount)

    async def all(self) -> list[Heartbeat]:
        """Every worker's last beat, newest first."""
        async with self._db.read() as connection:
            rows = await connection.execute(select(_beats).order_by(_beats.c.beat_at.desc()))
            return [Heartbeat(**row) for row in rows.mappings()]

    async def latest(self) -> datetime | None:
        """The newest beat of any worker, or None when no worker has beaten."""
        async with self._db.read() as connection:
            newest = (await connection.execute(select(func.max(_beats.c.beat_at)))).scalar_one()
            return newest  # type: ignore[no-any-return]

    async def revisions(self) -> set[str]:
        """The schema revisions the database is at (Alembic's version table); also the check
        that the database answers at all."""
        async with self._db.read() as connection:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return {str(row[0]) for row in rows.all()}
