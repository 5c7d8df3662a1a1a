"""The operator's overview queries: the queue per callback host, and every partner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal_column, select

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
        """The hosts with the most pending deliveries first. One grouped query per state, each
        over its state's partial index (ix_deliveries_host_due, ix_deliveries_leased) rather than
        every delivery; the state is written as a literal, since SQLite uses a partial index
        only for a condition that names its very value."""
        pending = func.count().label("count")
        due = (
            select(D.c.host, pending, func.min(D.c.next_attempt_at).label("oldest"))
            .where(D.c.state == literal_column(f"'{PENDING}'"))
            .group_by(D.c.host)
        )
        leased = (
            select(D.c.host, func.count().label("count"))
            .where(D.c.state == literal_column(f"'{IN_FLIGHT}'"))
            .group_by(D.c.host)
        )
        async with self._db.read() as connection:
            waiting = (await connection.execute(due)).mappings().all()
            busy = (await connection.execute(leased)).mappings().all()
        in_flight = {row["host"]: int(row["count"]) for row in busy}
        hosts = {
            row["host"]: HostQueue(
                row["host"], int(row["count"]), in_flight.pop(row["host"], 0), _aware(row["oldest"])
            )
            for row in waiting
        }
        hosts.update({host: HostQueue(host, 0, count, None) for host, count in in_flight.items()})
        ranked = sorted(hosts.values(), key=lambda queue: (-queue.pending, queue.host))
        return ranked[:limit]

    async def partners(self) -> list[models.Partner]:
        table = schema.partners
        async with self._db.read() as connection:
            rows = (await connection.execute(select(table).order_by(table.c.name))).mappings()
            return [models.Partner(r["id"], r["name"], r["date_created"]) for r in rows.all()]


def _aware(value: datetime | str | None) -> datetime | None:
    # An aggregate loses the column's type, so its value comes back as the driver gives it.
    return schema.UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]
