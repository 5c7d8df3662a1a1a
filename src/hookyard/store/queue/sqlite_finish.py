"""Finishing tries on SQLite: attempt rows, delivery states, and the records a last try Stops,
in one transaction on the hot-path connection (`SqliteQueue.finish` runs it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from hookyard import ids
from hookyard.store.queue.protocol import Finished
from hookyard.store.queue.sqlite_values import database_now, id_list, stamp

# finish

INSERT_ATTEMPT = (
    "INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, outcome,"
    " status_code, error, response_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SUCCEED = (
    "UPDATE deliveries SET state = 'succeeded', attempts = attempts + 1, next_attempt_at = ?,"
    " locked_until = NULL, lease_owner = NULL, updated_at = ?, last_status = ?, last_error = NULL"
    " WHERE state = 'in_flight' AND lease_owner = ? AND id IN (SELECT value FROM json_each(?))"
)
RECORD = (
    "UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, locked_until = NULL,"
    " lease_owner = NULL, updated_at = ?, last_status = ?, last_error = ?"
    " WHERE id = ? AND state = 'in_flight' AND lease_owner = ?"
)
STOP = (
    "UPDATE subscriptions SET status = 'Stopped', status_changed_at = ?, stop_reason = ?"
    " WHERE id = ? AND status = 'Active' RETURNING id"
)
HOLD = (
    "UPDATE deliveries SET state = 'held', updated_at = ? WHERE state = 'pending'"
    " AND subscription_id IN (SELECT id FROM subscriptions WHERE status != 'Active'"
    " AND id IN (SELECT value FROM json_each(?)))"
)


def finish(
    connection: sqlite3.Connection, tries: Sequence[Finished], worker_now: datetime
) -> frozenset[str]:
    """Record `tries` (a retry's delay laid on SQLite's clock); the ids of the records this
    batch Stopped (Active until it)."""
    database_time = database_now(connection)
    now = stamp(database_time)
    connection.executemany(INSERT_ATTEMPT, [_attempt_row(t) for t in tries])
    _succeed(connection, [t for t in tries if t.succeeded], now)
    failed = [t for t in tries if not t.succeeded]

    def record(attempt: Finished) -> tuple[Any, ...]:
        due = database_time + timedelta(seconds=attempt.retry_delay(worker_now))
        return _record_row(attempt, now, due)

    connection.executemany(RECORD, [record(t) for t in failed if not t.stop_reason])
    # A last try Stops its record only if its claim still held the delivery.
    stopping = [t for t in failed if t.stop_reason and _recorded(connection, record(t))]
    stopped = _stop(connection, stopping, now)
    unfinished = sorted({t.subscription_id for t in failed})
    if unfinished:
        connection.execute(HOLD, (now, id_list(unfinished)))
    return stopped


def _stop(connection: sqlite3.Connection, tries: Sequence[Finished], now: str) -> frozenset[str]:
    """Stop the records of the tries that say so (rare: one statement each); the ids of those
    that were Active until now."""
    stopped: set[str] = set()
    for attempt in tries:
        if attempt.stop_reason:
            values = (now, attempt.stop_reason, attempt.subscription_id)
            stopped.update(row[0] for row in connection.execute(STOP, values).fetchall())
    return frozenset(stopped)


def _succeed(connection: sqlite3.Connection, succeeded: Sequence[Finished], now: str) -> None:
    """Successes (the common case) in one statement per status code and claim, not per row."""
    grouped: dict[tuple[int | None, str], list[str]] = {}
    for attempt in succeeded:
        grouped.setdefault((attempt.status_code, attempt.lease), []).append(attempt.delivery_id)
    for (status, lease), delivery_ids in grouped.items():
        connection.execute(SUCCEED, (now, now, status, lease, id_list(delivery_ids)))


def _recorded(connection: sqlite3.Connection, row: tuple[Any, ...]) -> bool:
    """Record one try's state; whether its claim still held the delivery (the last try Stops
    its record only then: a late try whose lease was lost changes nothing)."""
    return connection.execute(RECORD, row).rowcount > 0


def _attempt_row(attempt: Finished) -> tuple[Any, ...]:
    return (
        ids.prefixed(ids.ATTEMPT),
        attempt.delivery_id,
        attempt.number,
        stamp(attempt.started_at),
        attempt.duration_ms,
        attempt.outcome.value,
        attempt.status_code,
        attempt.short_error,
        attempt.response_body,
    )


def _record_row(attempt: Finished, now: str, due: datetime) -> tuple[Any, ...]:
    return (
        attempt.state.value,
        attempt.attempt,
        stamp(due),
        now,
        attempt.status_code,
        attempt.short_error,
        attempt.delivery_id,
        attempt.lease,
    )
