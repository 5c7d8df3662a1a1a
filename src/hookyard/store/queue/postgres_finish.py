"""Finishing tries on PostgreSQL: attempt rows, delivery states, and the records a last try
Stops, in one statement (the whole batch when all succeeded) or one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from hookyard import ids
from hookyard.store.queue.postgres_values import stamp
from hookyard.store.queue.protocol import Finished

# finish: attempts and delivery states in one statement (the whole batch when all succeeded);
# a try changes its delivery only while its claim still holds it (`lease_owner`), and a retry's
# delay is laid on the database's clock

RECORD = """
WITH tried AS (
    INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, outcome,
        status_code, error, response_body)
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamp[], $5::float8[],
        $6::text[], $7::int[], $8::text[], $9::text[])
)
UPDATE deliveries d SET state = u.state, attempts = u.tries,
    next_attempt_at = timezone('UTC', now()) + u.delay * interval '1 second',
    locked_until = NULL, lease_owner = NULL, updated_at = timezone('UTC', now()),
    last_status = u.status, last_error = u.error
FROM unnest($2::text[], $10::text[], $13::int[], $11::float8[], $7::int[], $8::text[],
    $12::text[]) AS u(id, state, tries, delay, status, error, lease)
WHERE d.id = u.id AND d.state = 'in_flight' AND d.lease_owner = u.lease
"""
RECORD_RETURNING = RECORD + "RETURNING d.id\n"
STOP = (
    "UPDATE subscriptions s SET status = 'Stopped', status_changed_at = timezone('UTC', now()),"
    " stop_reason = u.reason FROM unnest($1::text[], $2::text[]) AS u(id, reason)"
    " WHERE s.id = u.id AND s.status = 'Active' RETURNING s.id"
)
HOLD = (
    "UPDATE deliveries SET state = 'held', updated_at = timezone('UTC', now())"
    " WHERE state = 'pending' AND subscription_id = ANY(ARRAY(SELECT id FROM subscriptions"
    " WHERE id = ANY($1::text[]) AND status <> 'Active'))"
)


async def finish(
    connection: asyncpg.Connection, tries: Sequence[Finished], now: datetime
) -> frozenset[str]:
    """Record `tries`; the ids of the records this batch Stopped (Active until it)."""
    values = _record_values(tries, now)
    unfinished = sorted({t.subscription_id for t in tries if not t.succeeded})
    if not unfinished:
        await connection.execute(RECORD, *values)
        return frozenset()
    async with connection.transaction():
        stopped = await _record_failures(connection, tries, values)
        await connection.execute(HOLD, unfinished)
    return stopped


async def _record_failures(
    connection: asyncpg.Connection, tries: Sequence[Finished], values: tuple[Any, ...]
) -> frozenset[str]:
    """Record a batch with failures; a try that spent the last attempt Stops its record
    only if its claim still held the delivery (a late try whose lease was lost does not).
    The ids of the records this batch Stopped (Active until it)."""
    stopping = {t.delivery_id: t for t in tries if t.stop_reason}
    if not stopping:
        await connection.execute(RECORD, *values)
        return frozenset()
    recorded = {row[0] for row in await connection.fetch(RECORD_RETURNING, *values)}
    stops = [(t.subscription_id, t.stop_reason) for i, t in stopping.items() if i in recorded]
    if not stops:
        return frozenset()
    ids_, reasons = zip(*stops, strict=True)
    rows = await connection.fetch(STOP, list(ids_), list(reasons))
    return frozenset(row[0] for row in rows)


def _record_values(tries: Sequence[Finished], now: datetime) -> tuple[Any, ...]:
    """RECORD's parameters: the attempt rows' columns ($1-$9, numbered across rounds), then the
    deliveries' new state, retry delay, lease token and tries this round ($10-$13)."""
    columns: tuple[list[Any], ...] = tuple([] for _ in range(13))
    for t in tries:
        row = (
            ids.prefixed(ids.ATTEMPT),
            t.delivery_id,
            t.number,
            stamp(t.started_at),
            t.duration_ms,
            t.outcome.value,
            t.status_code,
            t.short_error,
            t.response_body,
            t.state.value,
            t.retry_delay(now),
            t.lease,
            t.attempt,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns
