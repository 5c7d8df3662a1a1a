"""The delivery queue: claim due deliveries with a lease, renew, release, finish tries in batches.

States: `pending` (due at `next_attempt_at`), `in_flight` (leased until `locked_until`),
`succeeded`, `failed` (tries spent; its record was Stopped) and `held` (its record is not Active).
The claim is the one statement that differs by dialect: PostgreSQL takes rows with
`FOR UPDATE SKIP LOCKED` inside `ARRAY(...)` (so the limit holds exactly) and loads what the tries
need in the same statement; SQLite relies on its single writer (`BEGIN IMMEDIATE`). A claim
returns everything a try needs (url, secrets, body), so the worker never re-reads a subscription
per delivery. Finishing a batch of tries (attempt rows, delivery states, Stopped records, held
deliveries) is one transaction.

This is the hot path, so its statements are driver SQL (`hookyard.store.driver_sql`) with tuple
rows, and on a SQLite file claims and finishes run whole in the hot-path thread
(`Database.run_write`); the rarer queries (leases, next due) stay SQLAlchemy Core.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update

from hookyard import ids, models
from hookyard.store import schema
from hookyard.store.database import Database
from hookyard.store.driver_sql import DriverSql
from hookyard.store.wakeup import Wakeup

D = schema.deliveries
S = schema.subscriptions
E = schema.events
ACTIVE = models.SubscriptionStatus.ACTIVE.value
PENDING = models.DeliveryState.PENDING.value
IN_FLIGHT = models.DeliveryState.IN_FLIGHT.value
HELD = models.DeliveryState.HELD.value
ERROR_CHARS = 1000


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
        if self._db.has_hot_path:
            return await self._db.run_write(
                lambda connection: self._claim_sqlite(connection, limit, now, until, exclude_hosts)
            )
        async with self._db.write() as connection:
            # PostgreSQL. A claim lost in a crash only leaves its deliveries pending: it need not
            # wait for its own WAL flush (the next durable commit flushes it anyway).
            await connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            values = (
                self._sql.timestamp(until),
                self._sql.timestamp(now),
                list(exclude_hosts),
                limit,
            )
            result = await connection.exec_driver_sql(self._statements.claim_pg, values)
            jobs, inactive = self._jobs(result.all(), now)
            if inactive:
                await connection.exec_driver_sql(*self._hold_claimed(inactive, now))
            return jobs

    def _claim_sqlite(
        self,
        connection: sqlite3.Connection,
        limit: int,
        now: datetime,
        until: datetime,
        exclude_hosts: Sequence[str],
    ) -> list[Claimed]:
        """The claim as one transaction in SQLite's hot-path thread (see store.database)."""
        sql = self._sql
        stamps = (sql.timestamp(until), sql.timestamp(now), sql.timestamp(now))
        if exclude_hosts:
            statement = self._statements.claim_excluding
            values: tuple[Any, ...] = (*stamps, sql.list_value(exclude_hosts), limit)
        else:
            statement, values = self._statements.claim, (*stamps, limit)
        claimed = [row[0] for row in connection.execute(statement, values)]
        if not claimed:
            return []
        rows = connection.execute(self._statements.load, (sql.list_value(claimed),))
        jobs, inactive = self._jobs(rows.fetchall(), now)
        if inactive:
            connection.execute(*self._hold_claimed(inactive, now))
        return jobs

    def _hold_claimed(self, delivery_ids: list[str], now: datetime) -> tuple[str, tuple[Any, ...]]:
        """Claimed deliveries whose record is no longer Active are held, not tried."""
        return self._statements.hold_claimed, (
            self._sql.timestamp(now),
            self._sql.list_value(delivery_ids),
        )

    def _jobs(self, rows: Iterable[Any], now: datetime) -> tuple[list[Claimed], list[str]]:
        """Loaded rows -> the tries to make, and the ids of those whose record is not Active."""
        secrets: dict[tuple[Any, ...], tuple[str, ...]] = {}
        jobs = []
        inactive = []
        for row in rows:
            if row[9] != ACTIVE:
                inactive.append(row[0])
                continue
            key = (row[1], row[6], row[7], row[8])
            found = secrets.get(key)
            if found is None:
                found = secrets[key] = self._secrets(row[1], row[6], row[7], row[8], now)
            jobs.append(Claimed(row[0], row[1], row[2], row[3], row[5], bytes(row[4]), found))
        return jobs, inactive

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
        return self._sql.read_timestamp(value)

    async def finish(self, tries: Sequence[Finished], *, now: datetime) -> None:
        """Record a batch of tries in one transaction: attempts, states, Stopped records, held."""
        if not tries:
            return
        plan = self._finish_plan(tries, now)
        if self._db.has_hot_path:
            await self._db.run_write(lambda connection: _run_sqlite(connection, plan))
            return
        async with self._db.write() as connection:
            for statement, params in plan:
                await connection.exec_driver_sql(statement, params)

    def _finish_plan(self, tries: Sequence[Finished], now: datetime) -> list[tuple[str, _Params]]:
        """The statements that record `tries`: successes in one statement per status code, not
        one per row (the common case); the rest row by row."""
        sql, statements = self._sql, self._statements
        stamp = sql.timestamp(now)
        plan: list[tuple[str, _Params]] = [
            (statements.attempt, [_attempt_row(t, sql.timestamp) for t in tries])
        ]
        by_status: dict[int | None, list[str]] = {}
        for attempt in tries:
            if attempt.succeeded:
                by_status.setdefault(attempt.status_code, []).append(attempt.delivery_id)
        for status, delivery_ids in by_status.items():
            plan.append((statements.succeed, (stamp, stamp, status, sql.list_value(delivery_ids))))
        retried = [_finish_row(t, now, sql.timestamp) for t in tries if not t.succeeded]
        if retried:
            plan.append((statements.retry, retried))
        stops = [t for t in tries if t.state is models.DeliveryState.FAILED]
        if stops:
            plan.append(
                (statements.stop, [(stamp, t.stop_reason(), t.subscription_id) for t in stops])
            )
        unfinished = sorted({t.subscription_id for t in tries if not t.succeeded})
        if unfinished:
            plan.append((statements.hold, (stamp, sql.list_value(unfinished))))
        return plan


_Params = tuple[Any, ...] | list[tuple[Any, ...]]
"""One row of parameters (execute), or several (executemany)."""


def _run_sqlite(connection: sqlite3.Connection, plan: list[tuple[str, _Params]]) -> None:
    for statement, params in plan:
        if isinstance(params, list):
            connection.executemany(statement, params)
        else:
            connection.execute(statement, params)


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
        # PostgreSQL: claim and load in one statement. The ids are taken inside ARRAY(...), so the
        # limit holds exactly (as `IN (SELECT ... LIMIT n)` does not: the planner may re-run it).
        self.claim_pg = (
            "WITH claimed AS (UPDATE deliveries SET state = 'in_flight', locked_until = $1,"
            " updated_at = $2 WHERE id = ANY(ARRAY(SELECT id FROM deliveries"
            " WHERE state = 'pending' AND next_attempt_at <= $2 AND NOT (host = ANY($3::text[]))"
            " ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED))"
            " RETURNING id, subscription_id, host, attempts, event_id)"
            " SELECT d.id, d.subscription_id, d.host, d.attempts, e.body, s.callback_url,"
            " s.secret_key, s.previous_secret_key, s.previous_secret_until, s.status"
            " FROM claimed d JOIN events e ON e.id = d.event_id"
            " JOIN subscriptions s ON s.id = d.subscription_id"
        )
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
        self.hold_claimed = (
            "UPDATE deliveries SET state = 'held', locked_until = NULL,"  # noqa: S608
            f" updated_at = {sql.mark(1)} WHERE id {sql.in_list(2)}"
        )
        m = [sql.mark(n) for n in range(1, 8)]
        self.retry = (
            f"UPDATE deliveries SET state = {m[0]}, attempts = {m[1]}, next_attempt_at = {m[2]},"  # noqa: S608
            f" locked_until = NULL, updated_at = {m[3]}, last_status = {m[4]},"
            f" last_error = {m[5]} WHERE id = {m[6]} AND state = 'in_flight'"
        )
        self.stop = (
            "UPDATE subscriptions SET status = 'Stopped',"  # noqa: S608
            f" status_changed_at = {m[0]}, stop_reason = {m[1]}"
            f" WHERE id = {m[2]} AND status = 'Active'"
        )
        self.hold = (
            f"UPDATE deliveries SET state = 'held', updated_at = {m[0]}"  # noqa: S608
            " WHERE state = 'pending' AND subscription_id IN (SELECT id FROM subscriptions"
            f" WHERE status != 'Active' AND id {sql.in_list(2)})"
        )
        self.succeed = (
            "UPDATE deliveries SET state = 'succeeded', attempts = attempts + 1,"  # noqa: S608
            f" next_attempt_at = {sql.mark(1)}, locked_until = NULL, updated_at = {sql.mark(2)},"
            f" last_status = {sql.mark(3)}, last_error = NULL"
            f" WHERE state = 'in_flight' AND id {sql.in_list(4)}"
        )


def _finish_row(
    attempt: Finished, now: datetime, stamp: Callable[[datetime], Any]
) -> tuple[Any, ...]:
    return (
        attempt.state.value,
        attempt.attempt,
        stamp(attempt.retry_at or now),
        stamp(now),
        attempt.status_code,
        attempt.error[:ERROR_CHARS] if attempt.error else None,
        attempt.delivery_id,
    )
