"""Requeueing on PostgreSQL: redeliver, recover, releasing the held deliveries of reactivated
records, and the held cap (what Stopped records hold is bounded in number and age). Each
function runs on a connection `PostgresQueue` hands it, inside its transaction where it takes
more than one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from hookyard import models
from hookyard.store.queue.postgres_values import stamp
from hookyard.store.queue.protocol import REPLAY_STEP

# requeue: redeliver, recover, and releasing the held deliveries of reactivated records;
# $1/$2 the deliveries and their due times, $3 now, $4 the states they may be in

REQUEUE = (
    "WITH requeued AS (UPDATE deliveries d SET state = 'pending',"
    " earlier_attempts = d.earlier_attempts + d.attempts, attempts = 0,"
    " next_attempt_at = u.due, locked_until = NULL, lease_owner = NULL, updated_at = $3"
    " FROM unnest($1::text[], $2::timestamp[]) AS u(id, due)"
    " WHERE d.id = u.id AND d.state = ANY($4::text[]) RETURNING 1)"
    " SELECT count(*), (SELECT pg_notify('hookyard_deliveries', '')"
    " WHERE EXISTS (SELECT 1 FROM requeued)) FROM requeued"
)
REACTIVATE = (
    "UPDATE subscriptions SET status = 'Active', status_changed_at = $2, stop_reason = NULL"
    " WHERE id = ANY($1::text[]) AND status = 'Stopped'"
)
HELD_IN_PUBLISH_ORDER = (
    "SELECT id FROM deliveries WHERE subscription_id = ANY($1::text[]) AND state = 'held'"
    " ORDER BY coalesce(sequence, 0), created_at, id FOR UPDATE"
)
HELD_ONLY = [models.DeliveryState.HELD.value]

# the held cap: what Stopped records hold is bounded in number and age

HELD_PER_RECORD = (
    "SELECT d.subscription_id, count(*) FROM deliveries d"
    " JOIN subscriptions s ON s.id = d.subscription_id"
    " WHERE s.status = 'Stopped' AND d.state = 'held' GROUP BY d.subscription_id"
)
# $1 record, $2 how many of the oldest, $3 made before: dropped too
DOOMED = (
    "SELECT id FROM (SELECT id FROM deliveries WHERE subscription_id = $1 AND state = 'held'"
    " ORDER BY coalesce(sequence, 0), created_at, id LIMIT $2) AS oldest"
    " UNION SELECT id FROM deliveries WHERE subscription_id = $1 AND state = 'held'"
    " AND created_at < $3"
)
DROP_ATTEMPTS = "DELETE FROM attempts WHERE delivery_id = ANY($1::text[])"
DROP = "DELETE FROM deliveries WHERE id = ANY($1::text[])"
COUNT_DROPPED = "UPDATE subscriptions SET held_dropped = held_dropped + $1 WHERE id = $2"


async def requeue(
    connection: asyncpg.Connection, delivery_ids: Sequence[str], now: datetime, states: list[str]
) -> int:
    if not delivery_ids:
        return 0
    dues = [stamp(now + REPLAY_STEP * index) for index in range(len(delivery_ids))]
    row = await connection.fetchrow(REQUEUE, list(delivery_ids), dues, stamp(now), states)
    return int(row[0]) if row is not None else 0


async def reactivate(
    connection: asyncpg.Connection, record_ids: Sequence[str], now: datetime
) -> int:
    """Activate the Stopped records of `record_ids` and requeue their held deliveries in publish
    order (in the caller's transaction); how many were requeued."""
    records = list(record_ids)
    await connection.execute(REACTIVATE, records, stamp(now))
    held = [row[0] for row in await connection.fetch(HELD_IN_PUBLISH_ORDER, records)]
    return await requeue(connection, held, now, HELD_ONLY)


async def drop_held(
    connection: asyncpg.Connection, cap: int, older_than: datetime
) -> dict[str, int]:
    """Drop what Stopped records hold over `cap` or made before `older_than` (in the caller's
    transaction), their attempts with them; how many per record."""
    dropped: dict[str, int] = {}
    for record_id, held in await connection.fetch(HELD_PER_RECORD):
        over = max(0, held - cap)
        rows = await connection.fetch(DOOMED, record_id, over, stamp(older_than))
        doomed = sorted(row[0] for row in rows)
        if doomed:
            await connection.execute(DROP_ATTEMPTS, doomed)
            await connection.execute(DROP, doomed)
            await connection.execute(COUNT_DROPPED, len(doomed), record_id)
            dropped[record_id] = len(doomed)
    return dropped
