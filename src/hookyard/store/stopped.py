"""Stopped records: which urls to probe, reactivating them, and their held deliveries (bounded
by a cap and a retention, released in publish order)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from hookyard import models
from hookyard.store import schema
from hookyard.store.database import Database
from hookyard.store.queue.protocol import QueueBackend

S = schema.subscriptions
STOPPED = models.SubscriptionStatus.STOPPED.value
DISCONNECTED = "disconnected"
"""A partner's records Stopped because the company disconnected its app: never probed nor
reactivated here, and nothing is held for them (the company withdrew the partner's access)."""


@dataclass(frozen=True)
class StoppedUrl:
    """One client's callback url with Stopped records: when it was last Stopped and probed."""

    client_id: str
    company_id: str
    callback_url: str
    record_ids: tuple[str, ...]
    stopped_at: datetime
    last_probe_at: datetime | None
    auto_reactivate: bool


class StoppedRepository:
    """Queries over Stopped records and their held deliveries."""

    def __init__(self, db: Database, queue: QueueBackend) -> None:
        self._db = db
        self._queue = queue

    async def urls(self) -> list[StoppedUrl]:
        """Every (client, url) with Stopped records."""
        statement = (
            select(
                S.c.client_id,
                S.c.company_id,
                S.c.callback_url,
                S.c.id,
                S.c.status_changed_at,
                S.c.last_probe_at,
                S.c.auto_reactivate,
            )
            .where(S.c.status == STOPPED, S.c.stop_reason.is_distinct_from(DISCONNECTED))
            .order_by(S.c.client_id, S.c.callback_url, S.c.id)
        )
        async with self._db.read() as connection:
            rows = (await connection.execute(statement)).all()
        grouped: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            grouped.setdefault((row.client_id, row.callback_url), []).append(row)
        return [_stopped_url(group) for group in grouped.values()]

    async def claim_probe(self, url: StoppedUrl, now: datetime) -> bool:
        """Mark the url's records probed at `now` unless another process did since `url` was
        read; True when this caller may probe it."""
        unchanged = (
            S.c.last_probe_at.is_(None)
            if url.last_probe_at is None
            else or_(S.c.last_probe_at.is_(None), S.c.last_probe_at <= url.last_probe_at)
        )
        statement = (
            update(S)
            .where(S.c.id.in_(url.record_ids), S.c.status == STOPPED, unchanged)
            .values(last_probe_at=now)
        )
        async with self._db.write() as connection:
            return int((await connection.execute(statement)).rowcount or 0) > 0

    async def reactivate(self, record_ids: Sequence[str], now: datetime) -> int:
        """Make Stopped records Active and release their held deliveries in publish order (each
        due a microsecond after the one before); how many deliveries were released."""
        return await self._queue.reactivate(record_ids, now=now)

    async def bound_held(self, cap: int, older_than: datetime) -> dict[str, int]:
        """Drop the held deliveries of Stopped records past `cap` per record (the oldest first)
        or made before `older_than`, and count them on the record; {record id: dropped now}."""
        return await self._queue.drop_held(cap, older_than)


def _stopped_url(group: list[Any]) -> StoppedUrl:
    probes = [row.last_probe_at for row in group if row.last_probe_at is not None]
    return StoppedUrl(
        client_id=group[0].client_id,
        company_id=group[0].company_id,
        callback_url=group[0].callback_url,
        record_ids=tuple(row.id for row in group),
        stopped_at=max(row.status_changed_at for row in group),
        last_probe_at=max(probes) if probes else None,
        auto_reactivate=any(bool(row.auto_reactivate) for row in group),
    )
