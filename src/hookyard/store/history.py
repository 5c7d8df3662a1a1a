"""Delivery history: deliveries with their attempts, and putting deliveries back in the queue.

Redelivering or recovering a delivery starts a new round of tries (written by the queue,
`QueueBackend.requeue`; this module only chooses which deliveries): its state becomes
`pending`, due now, and its try counter starts again at 0 for the retry policy, while
`earlier_attempts` keeps the tries before, so the next attempt row is number N+1 (earlier rows
stay; nothing is deleted). Recovered deliveries fall due a microsecond apart in publish order,
so they are claimed in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, true
from sqlalchemy.engine import RowMapping

from hookyard import ids, models
from hookyard.store import schema
from hookyard.store.database import Database
from hookyard.store.queue.protocol import QueueBackend

D = schema.deliveries
S = schema.subscriptions
E = schema.events
A = schema.attempts
SORT_LIMIT = 5000
RECOVERABLE = (models.DeliveryState.HELD, models.DeliveryState.FAILED)
REDELIVERABLE = tuple(s for s in models.DeliveryState if s is not models.DeliveryState.IN_FLIGHT)


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
        earlier_attempts=row["earlier_attempts"],
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


# The event type is the event's: a test event (`services.test_events`) may be of a type its
# record does not name.
_RECORDS = select(
    D,
    S.c.product,
    E.c.event_type,
    S.c.company_id,
    S.c.client_id,
    S.c.callback_url,
    S.c.status,
).select_from(D.join(S, S.c.id == D.c.subscription_id).join(E, E.c.id == D.c.event_id))


@dataclass(frozen=True)
class Query:
    """Which deliveries to list: newest first, `before` a delivery id for the next page."""

    client_id: str | None = None
    companies: tuple[str, ...] | None = None
    """Only records in these companies (None: any); a partner's reach."""
    state: models.DeliveryState | None = None
    callback_url: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: str | None = None
    limit: int = 100

    def conditions(self, *, sqlite_walk: bool = False) -> list[Any]:
        wanted = [
            (D.c.state, self.state.value if self.state else None),
            (S.c.callback_url, self.callback_url),
            (D.c.event_id, self.event_id),
            (E.c.event_type, self.event_type),
        ]
        found = [column == value for column, value in wanted if value is not None]
        if self.client_id is not None:
            client = S.c.client_id.concat("") if sqlite_walk else S.c.client_id
            found.append(client == self.client_id)
        if self.companies is not None:
            found.append(S.c.company_id.in_(self.companies))
        # A delivery id starts with its creation time (a ULID), so a time range is an id range:
        # the keyset scan over the primary key starts and stops at its ends.
        if self.since is not None:
            found.append(D.c.id >= ids.floor(ids.DELIVERY, self.since))
        if self.until is not None:
            found.append(D.c.id < ids.floor(ids.DELIVERY, self.until))
        if self.before is not None:
            found.append(D.c.id < self.before)
        return found


def list_statement(
    query: Query, records: Sequence[str] | None = None, *, walk: bool = False
) -> Any:
    """The keyset query of one page: newest first by id (ids sort by creation time).

    `records` are the ids of the client's subscription records, named as values. PostgreSQL
    then reads the statistics of those records' deliveries: for a client with few deliveries
    among many it reads them by record (ix_deliveries_subscription_state) and sorts them,
    instead of walking every delivery newest first until it has a page (266 ms to 0.06 ms for
    a client with none among 100,000). SQLite keeps no such statistics, so `DeliveryHistory`
    counts first (`_many`): with `walk` the client is compared through an expression, which
    keeps SQLite on the primary key, newest first, instead of sorting all of a big client's
    deliveries (1 s for 99,000)."""
    conditions = query.conditions(sqlite_walk=walk)
    if records is not None:
        conditions.append(D.c.subscription_id.in_(records))
    statement = _RECORDS.where(and_(true(), *conditions))
    return statement.order_by(D.c.id.desc()).limit(query.limit)


async def _many(connection: Any, records: Sequence[str]) -> bool:
    """Whether these records have more deliveries than a page query should sort (read by
    record, so it costs at most SORT_LIMIT index entries)."""
    some = select(D.c.id).where(D.c.subscription_id.in_(records)).limit(SORT_LIMIT).subquery()
    count = (await connection.execute(select(func.count()).select_from(some))).scalar_one()
    return int(count) >= SORT_LIMIT


class DeliveryHistory:
    """Queries for inspecting, redelivering and recovering deliveries."""

    def __init__(self, db: Database, queue: QueueBackend) -> None:
        self._db = db
        self._queue = queue

    async def get(self, delivery_id: str) -> DeliveryRecord | None:
        """One delivery with every attempt, or None."""
        async with self._db.read() as connection:
            statement = _RECORDS.where(D.c.id == delivery_id)
            row = (await connection.execute(statement)).mappings().first()
            if row is None:
                return None
            tries = (
                select(A).where(A.c.delivery_id == delivery_id).order_by(A.c.number, A.c.started_at)
            )
            attempts = (await connection.execute(tries)).mappings().all()
        return _record(row, [_attempt(a) for a in attempts])

    async def list(self, query: Query) -> list[DeliveryRecord]:
        """Deliveries matching `query`, newest first, without their attempts."""
        async with self._db.read() as connection:
            records: list[str] | None = None
            walk = False
            if query.client_id is not None:
                owned = select(S.c.id).where(S.c.client_id == query.client_id)
                if query.companies is not None:
                    owned = owned.where(S.c.company_id.in_(query.companies))
                records = list((await connection.execute(owned)).scalars())
                if self._db.dialect_rules.walks_big_pages:
                    walk = await _many(connection, records)
            statement = list_statement(query, None if walk else records, walk=walk)
            rows = (await connection.execute(statement)).mappings().all()
        return [_record(row) for row in rows]

    async def redeliver(self, delivery_id: str, *, now: datetime) -> bool:
        """Queue a delivery again unless a worker holds it now; whether it was queued."""
        return await self._queue.requeue([delivery_id], now=now, states=REDELIVERABLE) > 0

    async def recover(
        self,
        callback_url: str,
        since: datetime,
        *,
        now: datetime,
        client_id: str | None,
        companies: tuple[str, ...] | None = None,
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
        if companies is not None:
            records = records.where(S.c.company_id.in_(companies))
        chosen = select(D.c.id).where(
            D.c.state.in_([state.value for state in RECOVERABLE]),
            D.c.created_at >= since,
            D.c.subscription_id.in_(records.scalar_subquery()),
        )
        async with self._db.read() as connection:
            found = await connection.execute(chosen.order_by(*publish_order()))
            delivery_ids = list(found.scalars())
        # Requeued only if still held or failed when the queue's transaction reads them.
        return await self._queue.requeue(delivery_ids, now=now, states=RECOVERABLE)


def publish_order() -> tuple[Any, ...]:
    """Deliveries in publish order: by sequence number (those made before numbering first)."""
    return (func.coalesce(D.c.sequence, 0), D.c.created_at, D.c.id)
