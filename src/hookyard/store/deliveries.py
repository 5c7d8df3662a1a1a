"""The delivery queue: claim due deliveries with a lease, renew, release, finish tries in batches.

States: `pending` (due at `next_attempt_at`), `in_flight` (leased until `locked_until`),
`succeeded`, `failed` (tries spent; its record was Stopped) and `held` (its record is not Active).
The claim is the one statement that differs by dialect: PostgreSQL takes rows with
`FOR UPDATE SKIP LOCKED` inside `ARRAY(...)` (so the limit holds exactly), SQLite relies on its
single writer (`BEGIN IMMEDIATE`). A claim returns everything a try needs (url, secrets, body),
so the worker never re-reads a subscription per delivery. Finishing a batch of tries (attempt
rows, delivery states, Stopped records, held deliveries) is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from hookyard import ids, models
from hookyard.store import schema
from hookyard.store.database import Database
from hookyard.store.schema import UTCDateTime
from hookyard.store.wakeup import Wakeup

D = schema.deliveries
S = schema.subscriptions
E = schema.events
ACTIVE = models.SubscriptionStatus.ACTIVE.value
PENDING = models.DeliveryState.PENDING.value
IN_FLIGHT = models.DeliveryState.IN_FLIGHT.value
HELD = models.DeliveryState.HELD.value
ERROR_CHARS = 1000

_PG_CLAIM = text(
    """
    UPDATE deliveries SET state = 'in_flight', locked_until = :until, updated_at = :now
    WHERE id = ANY(ARRAY(
        SELECT id FROM deliveries
        WHERE state = 'pending' AND next_attempt_at <= :now AND NOT (host = ANY(:hosts))
        ORDER BY next_attempt_at
        LIMIT :n
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING id
    """
).bindparams(
    bindparam("until", type_=UTCDateTime()),
    bindparam("now", type_=UTCDateTime()),
    bindparam("hosts", type_=postgresql.ARRAY(schema.deliveries.c.host.type)),
)


@dataclass(frozen=True)
class Claimed:
    """A leased delivery with all a try needs."""

    id: str
    subscription_id: str
    host: str
    attempts: int
    url: str
    body: bytes
    secrets: tuple[str, ...]

    @property
    def attempt(self) -> int:
        """The number of the try about to be made (1-based)."""
        return self.attempts + 1


@dataclass(frozen=True)
class Finished:
    """The record of one try. `retry_at` set: retry then; None on a failure: give up and Stop."""

    delivery_id: str
    subscription_id: str
    attempt: int
    started_at: datetime
    duration_ms: float
    outcome: models.Outcome
    status_code: int | None
    error: str | None
    response_body: str | None
    retry_at: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome is models.Outcome.SUCCESS

    @property
    def state(self) -> models.DeliveryState:
        if self.succeeded:
            return models.DeliveryState.SUCCEEDED
        if self.retry_at is not None:
            return models.DeliveryState.PENDING
        return models.DeliveryState.FAILED

    def stop_reason(self) -> str:
        last = f"HTTP {self.status_code}" if self.status_code is not None else self.outcome.value
        detail = f": {self.error}" if self.error else ""
        return f"{self.attempt} tries failed; the last one: {last}{detail}"[:ERROR_CHARS]


Unseal = Callable[[str, str], str]
"""The stored form of a subscription's secret key and the record id -> the secret key."""


def plain(stored: str, record_id: str) -> str:
    return stored


class DeliveryRepository:
    """The queries of the delivery engine."""

    def __init__(self, db: Database, wakeup: Wakeup, unseal: Unseal = plain) -> None:
        self._db = db
        self.wakeup = wakeup
        self.unseal = unseal

    async def claim(
        self, limit: int, *, now: datetime, lease_seconds: float, exclude_hosts: Sequence[str] = ()
    ) -> list[Claimed]:
        """Lease up to `limit` due deliveries, skipping `exclude_hosts`; never more than `limit`."""
        if limit <= 0:
            return []
        until = now + timedelta(seconds=lease_seconds)
        async with self._db.write() as connection:
            claimed = await self._claim_ids(connection, limit, now, until, exclude_hosts)
            if not claimed:
                return []
            return await self._load(connection, claimed, now)

    async def _claim_ids(
        self,
        connection: AsyncConnection,
        limit: int,
        now: datetime,
        until: datetime,
        exclude_hosts: Sequence[str],
    ) -> list[str]:
        if self._db.dialect == "postgresql":
            params = {"now": now, "until": until, "n": limit, "hosts": list(exclude_hosts)}
            result = await connection.execute(_PG_CLAIM, params)
            return [row[0] for row in result]
        due = select(D.c.id).where(and_(D.c.state == PENDING, D.c.next_attempt_at <= now))
        if exclude_hosts:
            due = due.where(D.c.host.not_in(list(exclude_hosts)))
        due = due.order_by(D.c.next_attempt_at).limit(limit)
        statement = (
            update(D)
            .where(D.c.id.in_(due.scalar_subquery()))
            .values(state=IN_FLIGHT, locked_until=until, updated_at=now)
            .returning(D.c.id)
        )
        return [row[0] for row in await connection.execute(statement)]

    async def _load(
        self, connection: AsyncConnection, claimed: list[str], now: datetime
    ) -> list[Claimed]:
        statement = (
            select(
                D.c.id,
                D.c.subscription_id,
                D.c.host,
                D.c.attempts,
                E.c.body,
                S.c.callback_url,
                S.c.secret_key,
                S.c.previous_secret_key,
                S.c.previous_secret_until,
                S.c.status,
            )
            .select_from(D.join(E, E.c.id == D.c.event_id).join(S, S.c.id == D.c.subscription_id))
            .where(D.c.id.in_(claimed))
        )
        rows = (await connection.execute(statement)).all()
        inactive = [row.id for row in rows if row.status != ACTIVE]
        if inactive:
            await connection.execute(
                update(D)
                .where(D.c.id.in_(inactive))
                .values(state=HELD, locked_until=None, updated_at=now)
            )
        return [
            Claimed(
                row.id,
                row.subscription_id,
                row.host,
                row.attempts,
                row.callback_url,
                bytes(row.body),
                self._secrets(row, now),
            )
            for row in rows
            if row.status == ACTIVE
        ]

    def _secrets(self, row: Any, now: datetime) -> tuple[str, ...]:
        current = self.unseal(row.secret_key, row.subscription_id)
        previous, until = row.previous_secret_key, row.previous_secret_until
        if previous and until is not None and until > now:
            return (current, self.unseal(previous, row.subscription_id))
        return (current,)

    async def extend(self, delivery_ids: Sequence[str], *, until: datetime) -> None:
        """Renew the leases of deliveries this worker still holds."""
        if not delivery_ids:
            return
        async with self._db.write() as connection:
            await connection.execute(
                update(D)
                .where(and_(D.c.id.in_(list(delivery_ids)), D.c.state == IN_FLIGHT))
                .values(locked_until=until)
            )

    async def release(self, delivery_ids: Sequence[str], *, now: datetime) -> None:
        """Give leased deliveries back untried (graceful stop): due again at once."""
        if not delivery_ids:
            return
        async with self._db.write() as connection:
            await connection.execute(
                update(D)
                .where(and_(D.c.id.in_(list(delivery_ids)), D.c.state == IN_FLIGHT))
                .values(state=PENDING, locked_until=None, next_attempt_at=now, updated_at=now)
            )
            await self.wakeup.notify_in(connection)

    async def release_expired(self, *, now: datetime) -> int:
        """Deliveries whose lease ran out (their worker died) become due again; how many."""
        async with self._db.write() as connection:
            result = await connection.execute(
                update(D)
                .where(and_(D.c.state == IN_FLIGHT, D.c.locked_until < now))
                .values(state=PENDING, locked_until=None, next_attempt_at=now, updated_at=now)
            )
            count = int(result.rowcount or 0)
            if count:
                await self.wakeup.notify_in(connection)
        return count

    async def next_due(self) -> datetime | None:
        """When the earliest pending delivery is due, or None when none is pending."""
        async with self._db.read() as connection:
            statement = select(func.min(D.c.next_attempt_at)).where(D.c.state == PENDING)
            value = (await connection.execute(statement)).scalar_one_or_none()
        return UTCDateTime().process_result_value(value, self._db.writer.dialect)

    async def finish(self, tries: Sequence[Finished], *, now: datetime) -> None:
        """Record a batch of tries in one transaction: attempts, states, Stopped records, held."""
        if not tries:
            return
        async with self._db.write() as connection:
            await connection.execute(insert(schema.attempts), [_attempt_row(t) for t in tries])
            await self._succeed(connection, [t for t in tries if t.succeeded], now)
            retried = [_finish_row(t, now) for t in tries if not t.succeeded]
            if retried:
                await connection.execute(_FINISH, retried)
            stops = [t for t in tries if t.state is models.DeliveryState.FAILED]
            if stops:
                await connection.execute(_STOP, [_stop_row(t, now) for t in stops])
            unfinished = {t.subscription_id for t in tries if not t.succeeded}
            if unfinished:
                await self._hold(connection, unfinished, now)

    async def _succeed(
        self, connection: AsyncConnection, tries: Sequence[Finished], now: datetime
    ) -> None:
        """Successes in one statement per status code, not one per row: the common case."""
        by_status: dict[int | None, list[str]] = {}
        for attempt in tries:
            by_status.setdefault(attempt.status_code, []).append(attempt.delivery_id)
        for status, delivery_ids in by_status.items():
            await connection.execute(
                update(D)
                .where(and_(D.c.id.in_(delivery_ids), D.c.state == IN_FLIGHT))
                .values(
                    state=models.DeliveryState.SUCCEEDED.value,
                    attempts=D.c.attempts + 1,
                    next_attempt_at=now,
                    locked_until=None,
                    updated_at=now,
                    last_status=status,
                    last_error=None,
                )
            )

    async def _hold(
        self, connection: AsyncConnection, subscription_ids: set[str], now: datetime
    ) -> None:
        inactive = select(S.c.id).where(and_(S.c.id.in_(subscription_ids), S.c.status != ACTIVE))
        await connection.execute(
            update(D)
            .where(and_(D.c.state == PENDING, D.c.subscription_id.in_(inactive.scalar_subquery())))
            .values(state=HELD, updated_at=now)
        )


_FINISH = (
    update(D)
    .where(and_(D.c.id == bindparam("b_id"), D.c.state == IN_FLIGHT))
    .values(
        state=bindparam("b_state"),
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next", type_=UTCDateTime()),
        locked_until=None,
        updated_at=bindparam("b_now", type_=UTCDateTime()),
        last_status=bindparam("b_status"),
        last_error=bindparam("b_error"),
    )
)

_STOP = (
    update(S)
    .where(and_(S.c.id == bindparam("b_id"), S.c.status == ACTIVE))
    .values(
        status=models.SubscriptionStatus.STOPPED.value,
        status_changed_at=bindparam("b_now", type_=UTCDateTime()),
        stop_reason=bindparam("b_reason"),
    )
)


def _attempt_row(attempt: Finished) -> dict[str, Any]:
    return {
        "id": ids.prefixed(ids.ATTEMPT),
        "delivery_id": attempt.delivery_id,
        "number": attempt.attempt,
        "started_at": attempt.started_at,
        "duration_ms": attempt.duration_ms,
        "outcome": attempt.outcome.value,
        "status_code": attempt.status_code,
        "error": attempt.error[:ERROR_CHARS] if attempt.error else None,
        "response_body": attempt.response_body,
    }


def _finish_row(attempt: Finished, now: datetime) -> dict[str, Any]:
    return {
        "b_id": attempt.delivery_id,
        "b_state": attempt.state.value,
        "b_attempts": attempt.attempt,
        "b_next": attempt.retry_at or now,
        "b_now": now,
        "b_status": attempt.status_code,
        "b_error": attempt.error[:ERROR_CHARS] if attempt.error else None,
    }


def _stop_row(attempt: Finished, now: datetime) -> dict[str, Any]:
    return {"b_id": attempt.subscription_id, "b_now": now, "b_reason": attempt.stop_reason()}
