"""Delivery history: deliveries with their attempts, and putting deliveries back in the queue.

Redelivering or recovering a delivery starts a new round of tries: its state becomes `pending`,
due now, and its try counter starts again at 0 (earlier attempt rows stay; nothing is deleted).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, true, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hookyard import models
from hookyard.store import schema
from hookyard.store.database import Database
from hookyard.store.wakeup import Wakeup

Announce = Callable[[AsyncConnection], Awaitable[None]]
"""Wakes other processes' workers once the connection's transaction commits."""

D = schema.deliveries
S = schema.subscriptions
E = schema.events
A = schema.attempts
RECOVERABLE = (models.DeliveryState.HELD.value, models.DeliveryState.FAILED.value)


@dataclass(frozen=True)
class DeliveryRecord:
    """A delivery, what it delivers where, and (when asked for) its attempts, oldest first."""

    delivery: models.Delivery
    product: str
    event_type: str
    company_id: str
    client_id: str
    callback_url: str
    subscription_status: models.SubscriptionStatus
    attempts: tuple[models.Attempt, ...] = field(default=())


def _delivery(row: RowMapping) -> models.Delivery:
    return models.Delivery(
        id=row["id"],
        event_id=row["event_id"],
        subscription_id=row["subscription_id"],
        state=models.DeliveryState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_status=row["last_status"],
        last_error=row["last_error"],
    )


def _record(row: RowMapping, attempts: Sequence[models.Attempt] = ()) -> DeliveryRecord:
    return DeliveryRecord(
        delivery=_delivery(row),
        product=row["product"],
        event_type=row["event_type"],
        company_id=row["company_id"],
        client_id=row["client_id"],
        callback_url=row["callback_url"],
        subscription_status=models.SubscriptionStatus(row["status"]),
        attempts=tuple(attempts),
    )


def _attempt(row: RowMapping) -> models.Attempt:
    return models.Attempt(
        id=row["id"],
        delivery_id=row["delivery_id"],
        number=row["number"],
        started_at=row["started_at"],
        duration_ms=row["duration_ms"],
        outcome=models.Outcome(row["outcome"]),
        status_code=row["status_code"],
        error=row["error"],
        response_body=row["response_body"],
    )


_RECORDS = select(
    D,
    S.c.product,
    S.c.event_type,
    S.c.company_id,
    S.c.client_id,
    S.c.callback_url,
    S.c.status,
).select_from(D.join(S, S.c.id == D.c.subscription_id))


@dataclass(frozen=True)
class Query:
    """Which deliveries to list: newest first, `before` a delivery id for the next page."""

    client_id: str | None = None
    state: models.DeliveryState | None = None
    callback_url: str | None = None
    event_id: str | None = None
    before: str | None = None
    limit: int = 100

    def conditions(self) -> list[Any]:
        wanted = [
            (S.c.client_id, self.client_id),
            (D.c.state, self.state.value if self.state else None),
            (S.c.callback_url, self.callback_url),
            (D.c.event_id, self.event_id),
        ]
        found = [column == value for column, value in wanted if value is not None]
        if self.before is not None:
            found.append(D.c.id < self.before)
        return found


class DeliveryHistory:
    """Queries for inspecting, redelivering and recovering deliveries."""

    def __init__(self, db: Database, wakeup: Wakeup, announce: Announce) -> None:
        self._db = db
        self._wakeup = wakeup
        self._announce = announce

    async def get(self, delivery_id: str) -> DeliveryRecord | None:
        """One delivery with every attempt, or None."""
        async with self._db.read() as connection:
            statement = _RECORDS.where(D.c.id == delivery_id)
            row = (await connection.execute(statement)).mappings().first()
            if row is None:
                return None
            tries = select(A).where(A.c.delivery_id == delivery_id).order_by(A.c.started_at)
            attempts = (await connection.execute(tries)).mappings().all()
        return _record(row, [_attempt(a) for a in attempts])

    async def list(self, query: Query) -> list[DeliveryRecord]:
        """Deliveries matching `query`, newest first, without their attempts."""
        statement = _RECORDS.where(and_(true(), *query.conditions()))
        statement = statement.order_by(D.c.id.desc()).limit(query.limit)
        async with self._db.read() as connection:
            rows = (await connection.execute(statement)).mappings().all()
        return [_record(row) for row in rows]

    async def redeliver(self, delivery_id: str, *, now: datetime) -> bool:
        """Queue a delivery again unless a worker holds it now; whether it was queued."""
        statement = (
            update(D)
            .where(and_(D.c.id == delivery_id, D.c.state != models.DeliveryState.IN_FLIGHT.value))
            .values(_requeue(now))
        )
        return await self._requeue(statement) > 0

    async def recover(
        self, callback_url: str, since: datetime, *, now: datetime, client_id: str | None
    ) -> int:
        """Queue again held and failed deliveries since `since` of the Active records of a url."""
        records = select(S.c.id).where(
            and_(
                S.c.callback_url == callback_url,
                S.c.status == models.SubscriptionStatus.ACTIVE.value,
            )
        )
        if client_id is not None:
            records = records.where(S.c.client_id == client_id)
        statement = (
            update(D)
            .where(
                and_(
                    D.c.state.in_(RECOVERABLE),
                    D.c.created_at >= since,
                    D.c.subscription_id.in_(records.scalar_subquery()),
                )
            )
            .values(_requeue(now))
        )
        return await self._requeue(statement)

    async def _requeue(self, statement: Any) -> int:
        async with self._db.write() as connection:
            count = int((await connection.execute(statement)).rowcount or 0)
            if count:
                await self._announce(connection)
        if count:
            self._wakeup.notify()
        return count


def _requeue(now: datetime) -> dict[str, Any]:
    return {
        "state": models.DeliveryState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "locked_until": None,
        "updated_at": now,
    }
