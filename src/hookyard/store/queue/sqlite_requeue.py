"""Requeueing on SQLite: redeliver, recover, releasing the held deliveries of reactivated
records, and the held cap (what Stopped records hold is bounded in number and age). Each
function is one transaction's work on the hot-path connection (`SqliteQueue` runs it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from hookyard.store.queue.protocol import REPLAY_STEP
from hookyard.store.queue.sqlite_values import id_list, stamp

# requeue: redeliver, recover, and releasing the held deliveries of reactivated records

REQUEUE = (
    "UPDATE deliveries SET state = 'pending', earlier_attempts = earlier_attempts + attempts,"
    " attempts = 0, next_attempt_at = ?, locked_until = NULL, lease_owner = NULL,"
    " updated_at = ? WHERE id = ? AND state IN (SELECT value FROM json_each(?))"
)
REACTIVATE = (
    "UPDATE subscriptions SET status = 'Active', status_changed_at = ?, stop_reason = NULL"
    " WHERE status = 'Stopped' AND id IN (SELECT value FROM json_each(?))"
)
HELD_IN_PUBLISH_ORDER = (
    "SELECT id FROM deliveries WHERE state = 'held'"
    " AND subscription_id IN (SELECT value FROM json_each(?))"
    " ORDER BY coalesce(sequence, 0), created_at, id"
)
HELD_ONLY = '["held"]'

# the held cap: what Stopped records hold is bounded in number and age

HELD_PER_RECORD = (
    "SELECT d.subscription_id, count(*) FROM deliveries d"
    " JOIN subscriptions s ON s.id = d.subscription_id"
    " WHERE s.status = 'Stopped' AND d.state = 'held' GROUP BY d.subscription_id"
)
OLDEST_HELD = (
    "SELECT id FROM deliveries WHERE subscription_id = ? AND state = 'held'"
    " ORDER BY coalesce(sequence, 0), created_at, id LIMIT ?"
)
STALE_HELD = (
    "SELECT id FROM deliveries WHERE subscription_id = ? AND state = 'held' AND created_at < ?"
)
DROP_ATTEMPTS = "DELETE FROM attempts WHERE delivery_id IN (SELECT value FROM json_each(?))"
DROP = "DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?))"
COUNT_DROPPED = "UPDATE subscriptions SET held_dropped = held_dropped + ? WHERE id = ?"


def requeue(
    connection: sqlite3.Connection, delivery_ids: Sequence[str], now: datetime, states: str
) -> int:
    updated = stamp(now)
    rows = [
        (stamp(now + REPLAY_STEP * index), updated, delivery_id, states)
        for index, delivery_id in enumerate(delivery_ids)
    ]
    return max(0, int(connection.executemany(REQUEUE, rows).rowcount))


def reactivate(connection: sqlite3.Connection, record_ids: Sequence[str], now: datetime) -> int:
    records = id_list(record_ids)
    connection.execute(REACTIVATE, (stamp(now), records))
    held = [row[0] for row in connection.execute(HELD_IN_PUBLISH_ORDER, (records,))]
    return requeue(connection, held, now, HELD_ONLY)


def drop_held(connection: sqlite3.Connection, cap: int, older_than: datetime) -> dict[str, int]:
    dropped: dict[str, int] = {}
    for record_id, held in connection.execute(HELD_PER_RECORD).fetchall():
        doomed = _doomed(connection, record_id, held - cap, stamp(older_than))
        if doomed:
            chosen = id_list(doomed)
            connection.execute(DROP_ATTEMPTS, (chosen,))
            connection.execute(DROP, (chosen,))
            connection.execute(COUNT_DROPPED, (len(doomed), record_id))
            dropped[record_id] = len(doomed)
    return dropped


def _doomed(connection: sqlite3.Connection, record_id: str, over: int, older: str) -> list[str]:
    """The held deliveries of a record to drop: the `over` oldest, and any made too long ago."""
    chosen: set[str] = set()
    if over > 0:
        chosen.update(row[0] for row in connection.execute(OLDEST_HELD, (record_id, over)))
    chosen.update(row[0] for row in connection.execute(STALE_HELD, (record_id, older)))
    return sorted(chosen)
