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

from sqlalchemy import and_, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from hookyard import ids, models
from hookyard.store import schema
from hookyard.store.database import Database
from hookyard.store.driver_sql import DriverSql
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
        self._sql = DriverSql(db.writer.dialect)
        self._statements = _Statements(self._sql)

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
        sql = self._sql
        stamps = (sql.timestamp(until), sql.timestamp(now), sql.timestamp(now))
        if exclude_hosts:
            statement = self._statements.claim_excluding
            values: tuple[Any, ...] = (*stamps, sql.list_value(exclude_hosts), limit)
        else:
            statement, values = self._statements.claim, (*stamps, limit)
        result = await connection.exec_driver_sql(statement, values)
        return [row[0] for row in result]

    async def _load(
        self, connection: AsyncConnection, claimed: list[str], now: datetime
    ) -> list[Claimed]:
        result = await connection.exec_driver_sql(
            self._statements.load, (self._sql.list_value(claimed),)
        )
        rows: list[Any] = list(result.all())
        inactive = [row[0] for row in rows if row[9] != ACTIVE]
        if inactive:
            await connection.execute(
                update(D)
                .where(D.c.id.in_(inactive))
                .values(state=HELD, locked_until=None, updated_at=now)
            )
        secrets: dict[tuple[Any, ...], tuple[str, ...]] = {}
        jobs = []
        for row in rows:
            if row[9] != ACTIVE:
                continue
            key = (row[1], row[6], row[7], row[8])
            found = secrets.get(key)
            if found is None:
                found = secrets[key] = self._secrets(row[1], row[6], row[7], row[8], now)
            jobs.append(Claimed(row[0], row[1], row[2], row[3], row[5], bytes(row[4]), found))
        return jobs

    def _secrets(
        self, record_id: str, current: str, previous: str | None, until: Any, now: datetime
    ) -> tuple[str, ...]:
        """The record's secret, and its previous one while the overlap lasts (unsealed once per
        record and claim, not once per delivery)."""
        secret = self.unseal(current, record_id)
        if previous and until is not None:
            ends = self._sql.read_timestamp(until)
            if ends is not None and ends > now:
                return (secret, self.unseal(previous, record_id))
        return (secret,)

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
            stamp = self._sql.timestamp
            await connection.exec_driver_sql(
                self._statements.attempt, [_attempt_row(t, stamp) for t in tries]
            )
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
        stamp = self._sql.timestamp(now)
        for status, delivery_ids in by_status.items():
            await connection.exec_driver_sql(
                self._statements.succeed, (stamp, stamp, status, self._sql.list_value(delivery_ids))
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


def _attempt_row(attempt: Finished, stamp: Callable[[datetime], Any]) -> tuple[Any, ...]:
    return (
        ids.prefixed(ids.ATTEMPT),
        attempt.delivery_id,
        attempt.attempt,
        stamp(attempt.started_at),
        attempt.duration_ms,
        attempt.outcome.value,
        attempt.status_code,
        attempt.error[:ERROR_CHARS] if attempt.error else None,
        attempt.response_body,
    )


class _Statements:
    """The hot statements of one dialect, written once (see `hookyard.store.driver_sql`)."""

    # Only placeholders are interpolated below, never values: noqa S608 (string-built SQL).
    def __init__(self, sql: DriverSql) -> None:
        due = (
            "UPDATE deliveries SET state = 'in_flight', locked_until = ?, updated_at = ?"
            " WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending'"
            " AND next_attempt_at <= ?{} ORDER BY next_attempt_at LIMIT ?) RETURNING id"
        )
        # SQLite's claim (PostgreSQL's is _PG_CLAIM).
        self.claim = due.format("")
        self.claim_excluding = due.format(f" AND host NOT {sql.in_list(4)}")
        self.load = (
            "SELECT d.id, d.subscription_id, d.host, d.attempts, e.body, s.callback_url,"  # noqa: S608
            " s.secret_key, s.previous_secret_key, s.previous_secret_until, s.status"
            " FROM deliveries d JOIN events e ON e.id = d.event_id"
            " JOIN subscriptions s ON s.id = d.subscription_id"
            f" WHERE d.id {sql.in_list(1)}"
        )
        self.attempt = (
            "INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, outcome,"  # noqa: S608
            f" status_code, error, response_body) VALUES ({sql.marks(9)})"
        )
        self.succeed = (
            "UPDATE deliveries SET state = 'succeeded', attempts = attempts + 1,"  # noqa: S608
            f" next_attempt_at = {sql.mark(1)}, locked_until = NULL, updated_at = {sql.mark(2)},"
            f" last_status = {sql.mark(3)}, last_error = NULL"
            f" WHERE state = 'in_flight' AND id {sql.in_list(4)}"
        )


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
