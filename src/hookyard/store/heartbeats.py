"""Worker heartbeats: each `hookyard worker` process keeps one row fresh while its loop runs, so
`/readyz` of an API process elsewhere can tell whether any worker is delivering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, text, update

from hookyard.store import schema
from hookyard.store.database import Database

table = schema.worker_heartbeats


@dataclass(frozen=True)
class Beat:
    """One worker process's latest beat."""

    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    beat_at: datetime
    interval_seconds: float


class HeartbeatRepository:
    """Heartbeat rows, and the database checks `/readyz` makes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def beat(self, beat: Beat) -> None:
        """Write the worker's row (made on its first beat)."""
        values = {"beat_at": beat.beat_at, "interval_seconds": beat.interval_seconds}
        async with self._db.write() as connection:
            result = await connection.execute(
                update(table).where(table.c.worker_id == beat.worker_id).values(**values)
            )
            if result.rowcount == 0:
                await connection.execute(insert(table).values(**beat.__dict__))

    async def forget(self, worker_id: str) -> None:
        """Remove a worker's row when it stops."""
        async with self._db.write() as connection:
            await connection.execute(delete(table).where(table.c.worker_id == worker_id))

    async def latest(self) -> datetime | None:
        """The newest beat of any worker, or None when no worker has beaten."""
        async with self._db.read() as connection:
            return (await connection.execute(select(func.max(table.c.beat_at)))).scalar_one()  # type: ignore[no-any-return]

    async def revisions(self) -> set[str]:
        """The schema revisions the database is at (Alembic's version table); also the check
        that the database answers at all."""
        async with self._db.read() as connection:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return {str(row[0]) for row in rows.all()}
