"""Figures read from the store when `/metrics` is scraped: the queue as it is now, whatever
process made it so (counters in processes cannot say how deep the queue is)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from hookyard import models
from hookyard.store import schema
from hookyard.store.database import Database

_deliveries = schema.deliveries
_subscriptions = schema.subscriptions
PENDING = models.DeliveryState.PENDING.value
IN_FLIGHT = models.DeliveryState.IN_FLIGHT.value


@dataclass(frozen=True)
class QueueStats:
    """One scrape's figures: counts keyed by labels, and the oldest due delivery's due time."""

    deliveries: dict[tuple[str, str], int]
    subscriptions: dict[tuple[str, str], int]
    due: int
    oldest_due: datetime | None
    in_flight_hosts: list[tuple[str, int]]


class StatsRepository:
    """The queries behind the store-read metrics; each is one indexed or grouped SELECT."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def queue(self, now: datetime, *, top_hosts: int) -> QueueStats:
        by_product = (
            select(_subscriptions.c.product, _deliveries.c.state, func.count())
            .select_from(_deliveries.join(_subscriptions))
            .group_by(_subscriptions.c.product, _deliveries.c.state)
        )
        records = select(_subscriptions.c.product, _subscriptions.c.status, func.count()).group_by(
            _subscriptions.c.product, _subscriptions.c.status
        )
        due = select(func.count(), func.min(_deliveries.c.next_attempt_at)).where(
            _deliveries.c.state == PENDING, _deliveries.c.next_attempt_at <= now
        )
        count = func.count().label("n")
        hosts = (
            select(_deliveries.c.host, count)
            .where(_deliveries.c.state == IN_FLIGHT)
            .group_by(_deliveries.c.host)
            .order_by(count.desc(), _deliveries.c.host)
            .limit(top_hosts)
        )
        async with self._db.read() as connection:
            deliveries = {(p, s): n for p, s, n in (await connection.execute(by_product)).all()}
            statuses = {(p, s): n for p, s, n in (await connection.execute(records)).all()}
            due_count, oldest = (await connection.execute(due)).one()
            busiest = [(h, n) for h, n in (await connection.execute(hosts)).all()]
        return QueueStats(deliveries, statuses, int(due_count), oldest, busiest)
