"""The operator's overview queries: the queue per callback host, and every partner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from hookyard import models
from hookyard.store import schema
from hookyard.store.database import Database

D = schema.deliveries
PENDING = models.DeliveryState.PENDING.value
IN_FLIGHT = models.DeliveryState.IN_FLIGHT.value


@dataclass(frozen=True)
class HostQueue:
    """One callback host's waiting work: pending and in-flight deliveries, oldest due time."""

    host: str
    pending: int
    in_flight: int
    oldest_due: datetime | None


class OverviewRepository:
    """Read-only queries across tenants, for the operator."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def queue_by_host(self, limit: int = 50) -> list[HostQueue]:
        """The hosts with the most pending deliveries first."""
        pending = func.count().filter(D.c.state == PENDING)
        statement = (
            select(
                D.c.host,
                pending.label("pending"),
                func.count().filter(D.c.state == IN_FLIGHT).label("in_flight"),
                func.min(D.c.next_attempt_at).filter(D.c.state == PENDING).label("oldest_due"),
            )
            .where(D.c.state.in_((PENDING, IN_FLIGHT)))
            .group_by(D.c.host)
            .order_by(pending.desc(), D.c.host)
            .limit(limit)
        )
        async with self._db.read() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        return [
            HostQueue(
                row["host"],
                int(row["pending"]),
                int(row["in_flight"]),
                _aware(row["oldest_due"]),
            )
            for row in rows
        ]

    async def partners(self) -> list[models.Partner]:
        table = schema.partners
        async with self._db.read() as connection:
            rows = (await connection.execute(select(table).order_by(table.c.name))).mappings()
            return [models.Partner(r["id"], r["name"], r["date_created"]) for r in rows.all()]


def _aware(value: datetime | str | None) -> datetime | None:
    # An aggregate loses the column's type, so its value comes back as the driver gives it.
    return schema.UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]
