"""The delivery queue on SQLite: every hot statement, run whole on the hot-path connection.

SQLite has one writer. Each operation here is one function run as one `BEGIN IMMEDIATE`
transaction on a plain `sqlite3` connection (`sqlite_writer.SqliteWriter`): in a thread of its
own, one hand-off per transaction instead of one per statement, and no SQLAlchemy on the hot path.
Claims and ingests of a few events run on the event loop instead (`inline`): for them the hand-off
to the thread and back cost more CPU than the transaction. The same asyncio lock guards the
SQLAlchemy writer of the rarer repositories, so they never race. Values go as
`sqlite_values` writes them, the rows the SQLAlchemy repositories read. Finishing tries is
`sqlite_finish`, requeueing and the held cap `sqlite_requeue`; this module has ingest, claim and
leases, and the `QueueBackend` that runs them all.

A claim walks the callback hosts with pending deliveries from where the previous claim stopped
(one index probe per host on `ix_deliveries_host_due`), takes up to each host's room by due
time, and skips a host with no room without reading its backlog.

Lease and due times are the database's: each transaction that needs the time reads SQLite's
`'now'` once (`DATABASE_NOW`) and uses it throughout. On SQLite that is this host's clock (one
process owns the file), but the code reads the same as the PostgreSQL module's.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from hookyard import models
from hookyard.store import sequences
from hookyard.store.database import Database
from hookyard.store.queue import fanout, sqlite_finish, sqlite_requeue
from hookyard.store.queue.group import GroupCommit
from hookyard.store.queue.protocol import (
    MAX_HOSTS,
    Callback,
    Claimed,
    ClaimRequest,
    Finished,
    Ingested,
    Leases,
    NewEvent,
)
from hookyard.store.queue.sqlite_values import database_now, id_list, read_stamp, stamp, stamped
from hookyard.store.queue.sqlite_writer import SqliteWriter

T = TypeVar("T")
ACTIVE = models.SubscriptionStatus.ACTIVE.value

# ingest

EXISTING = "SELECT id FROM events WHERE publisher_id = ? AND idempotency_key = ?"
MATCHING = (
    "SELECT id, callback_url, client_id, status FROM subscriptions WHERE product = ?"
    " AND company_id = ? AND event_type = ? AND (status = 'Active' OR (status = 'Stopped'"
    " AND stop_reason IS NOT 'disconnected'))"
    " AND partition_value = ? AND (filter_value = '' OR filter_value = ?)"
)
INLINE_EVENTS = 4
"""Ingests of at most this many events run on the event loop (`SqliteWriter.run`); bigger
ones, grouped publishes under load and batches, in the writer thread."""
SEQUENCE_CHUNK = 500
"""Counter upserts per statement (3 parameters each, well under SQLite's parameter limit)."""
# Upsert, then read back: SQLite's RETURNING costs more here than a second statement.
COUNT_SEQUENCES = (
    "INSERT INTO callback_sequences (client_id, callback_url, last_sequence) VALUES {values}"
    " ON CONFLICT (client_id, callback_url)"
    " DO UPDATE SET last_sequence = last_sequence + excluded.last_sequence"
)
READ_SEQUENCES = (
    "SELECT client_id, callback_url, last_sequence FROM callback_sequences"
    " WHERE (client_id, callback_url) IN (VALUES {values})"
)
INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(fanout.EVENT_COLUMNS)})"  # noqa: S608 (column names)
    f" VALUES ({', '.join('?' * len(fanout.EVENT_COLUMNS))})"
)
INSERT_DELIVERY = (
    f"INSERT INTO deliveries ({', '.join(fanout.DELIVERY_COLUMNS)})"  # noqa: S608 (column names)
    f" VALUES ({', '.join('?' * len(fanout.DELIVERY_COLUMNS))})"
)

# claim

NEXT_HOST = "SELECT host FROM deliveries WHERE state = 'pending' AND host > ? ORDER BY host LIMIT 1"
LEASE_OF_HOST = (
    "UPDATE deliveries SET state = 'in_flight', locked_until = ?, lease_owner = ?,"
    " updated_at = ? WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND host = ?"
    " AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?) RETURNING id"
)
LOAD = (
    "SELECT d.id, d.subscription_id, d.host, d.attempts, s.callback_url, e.body,"
    " s.secret_key, s.previous_secret_key, s.previous_secret_until, d.sequence,"
    " d.earlier_attempts, s.product, s.status"
    " FROM deliveries d JOIN events e ON e.id = d.event_id"
    " JOIN subscriptions s ON s.id = d.subscription_id"
    " WHERE d.id IN (SELECT value FROM json_each(?)) ORDER BY d.next_attempt_at, d.id"
)
HOLD_CLAIMED = (
    "UPDATE deliveries SET state = 'held', locked_until = NULL, lease_owner = NULL,"
    " updated_at = ?"
    " WHERE id IN (SELECT value FROM json_each(?))"
)


def claimed(row: sqlite3.Row | tuple[Any, ...], lease: str) -> Claimed:
    """A `LOAD` row (its record Active) leased under `lease`; a row that does not read comes
    back with its `problem` set."""
    values = tuple(row)
    delivery_id, subscription_id, host, attempts, url, body, current, previous, until, n = values[
        :10
    ]
    earlier, product = values[10], values[11]
    try:
        return Claimed(
            delivery_id,
            subscription_id,
            host,
            int(attempts),
            str(url),
            bytes(body),
            str(current),
            previous,
            read_stamp(until),
            sequence=None if n is None else int(n),
            earlier_attempts=int(earlier),
            product=str(product),
            lease=lease,
        )
    except (TypeError, ValueError) as exc:
        attempts = int(attempts or 0)
        return Claimed.unreadable(delivery_id, subscription_id, host, attempts, exc, lease)


# leases

EXTEND = (
    "UPDATE deliveries SET locked_until = ? WHERE state = 'in_flight' AND lease_owner = ?"
    " AND id IN (SELECT value FROM json_each(?))"
)
RELEASE = (
    "UPDATE deliveries SET state = 'pending', locked_until = NULL, lease_owner = NULL,"
    " next_attempt_at = ?, updated_at = ? WHERE state = 'in_flight' AND lease_owner = ?"
    " AND id IN (SELECT value FROM json_each(?))"
)
RELEASE_EXPIRED = (
    "UPDATE deliveries SET state = 'pending', locked_until = NULL, lease_owner = NULL,"
    " next_attempt_at = ?, updated_at = ? WHERE state = 'in_flight' AND locked_until < ?"
)

FIRST_DUE_OF_HOST = (
    "SELECT next_attempt_at FROM deliveries WHERE state = 'pending' AND host = ?"
    " ORDER BY next_attempt_at LIMIT 1"
)


def by_lease(leases: Mapping[str, str]) -> dict[str, list[str]]:
    """Delivery ids grouped by the token they are leased under (a claim's deliveries share one)."""
    grouped: dict[str, list[str]] = {}
    for delivery_id, lease in leases.items():
        grouped.setdefault(lease, []).append(delivery_id)
    return grouped


class SqliteQueue:
    """`QueueBackend` on a SQLite file."""

    flush_writers = 1
    numbered = True
    """Whether ingest numbers deliveries per (client, url); off only to measure its cost."""

    def __init__(self, db: Database, wake_local: Callback) -> None:
        self.writer = SqliteWriter(db)
        """The hot-path connection every operation here runs on."""
        self._wake_local = wake_local
        self._after = ""
        # One writer: publishes that arrive while it writes share its next transaction.
        self.grouped = GroupCommit(self._ingest_now, flushes=1)

    async def _run(self, work: Callable[[sqlite3.Connection], T], *, inline: bool = False) -> T:
        return await self.writer.run(work, inline=inline)

    # ingest

    async def ingest(self, events: Sequence[NewEvent], now: datetime) -> list[Ingested]:
        return await self.grouped.ingest(events, now)

    async def _ingest_now(self, events: Sequence[NewEvent], now: datetime) -> list[Ingested]:
        try:
            inline = len(events) <= INLINE_EVENTS
            results = await self._run(
                lambda c: self._ingest(c, fanout.Fanout(events, now)), inline=inline
            )
        except IntegrityError:
            # A concurrent publish with the same key won the race; its events are the answer.
            results = await self._run(lambda c: self._ingest(c, fanout.Fanout(events, now)))
        if any(result.deliveries for result in results):
            self._wake_local()
        return results

    def _ingest(self, connection: sqlite3.Connection, plan: fanout.Fanout) -> list[Ingested]:
        existing: dict[fanout.Key, str] = {}
        for key in plan.idempotency_keys():
            row = connection.execute(EXISTING, key).fetchone()
            if row is not None:
                existing[key] = row[0]
        matches = {
            route: [(r[0], r[1], r[2], r[3]) for r in connection.execute(MATCHING, route)]
            for route in plan.routes(existing)
        }
        rows = plan.rows(existing, matches)
        if self.numbered and rows.keys:
            rows.number(_count_sequences(connection, rows.keys))
        if rows.events:
            connection.executemany(INSERT_EVENT, map(stamped, rows.events))
        if rows.deliveries:
            connection.executemany(INSERT_DELIVERY, map(stamped, rows.deliveries))
        return rows.results

    # claim

    async def claim(self, request: ClaimRequest) -> list[Claimed]:
        if request.limit <= 0:
            return []
        return await self._run(lambda connection: self._claim(connection, request), inline=True)

    def _claim(self, connection: sqlite3.Connection, request: ClaimRequest) -> list[Claimed]:
        database_time = database_now(connection)
        now = stamp(database_time)
        until = stamp(database_time + timedelta(seconds=request.lease_seconds))
        lease = request.lease_token()
        picked: list[str] = []
        after, self._after = self._after, ""
        for host in _hosts(connection, after):
            room = min(request.room(host), request.limit - len(picked))
            if room > 0:
                values = (until, lease, now, host, now, room)
                picked.extend(row[0] for row in connection.execute(LEASE_OF_HOST, values))
            if len(picked) >= request.limit:
                self._after = host
                break
        if not picked:
            return []
        leased = id_list(picked)
        jobs: list[Claimed] = []
        inactive: list[str] = []
        for row in connection.execute(LOAD, (leased,)):
            if row[-1] == ACTIVE:
                jobs.append(claimed(row, lease))
            else:
                inactive.append(row[0])
        if inactive:
            # Their record is no longer Active: held, not tried.
            connection.execute(HOLD_CLAIMED, (now, id_list(inactive)))
        return jobs

    # finish

    async def finish(self, tries: Sequence[Finished], *, now: datetime) -> frozenset[str]:
        if not tries:
            return frozenset()
        return await self._run(lambda connection: sqlite_finish.finish(connection, tries, now))

    # leases

    async def extend(self, leases: Leases, *, lease_seconds: float) -> None:
        if leases:
            await self._run(lambda connection: _extend(connection, leases, lease_seconds))

    async def release(self, leases: Leases) -> None:
        if leases:
            await self._run(lambda connection: _release(connection, leases))
            self._wake_local()

    async def release_expired(self) -> int:
        return await self._run(_release_expired)

    async def due_in(self, excluding: Collection[str] = ()) -> float | None:
        left_out = frozenset(excluding)
        return await self._run(lambda connection: _due_in(connection, left_out))

    # requeue

    async def requeue(
        self,
        delivery_ids: Sequence[str],
        *,
        now: datetime,
        states: Collection[models.DeliveryState],
    ) -> int:
        if not delivery_ids:
            return 0
        wanted = id_list(sorted(state.value for state in states))
        count = await self._run(lambda c: sqlite_requeue.requeue(c, delivery_ids, now, wanted))
        if count:
            self._wake_local()
        return count

    async def reactivate(self, record_ids: Sequence[str], *, now: datetime) -> int:
        if not record_ids:
            return 0
        count = await self._run(
            lambda connection: sqlite_requeue.reactivate(connection, record_ids, now)
        )
        if count:
            self._wake_local()
        return count

    async def drop_held(self, cap: int, older_than: datetime) -> dict[str, int]:
        return await self._run(
            lambda connection: sqlite_requeue.drop_held(connection, cap, older_than)
        )

    # wake-ups: one process, one database file; `Wakeup` carries them in process

    async def listen(self, callback: Callback, ready: Callback) -> None:
        ready()
        await _forever()

    async def close(self) -> None:
        await self.writer.close()


def _count_sequences(
    connection: sqlite3.Connection, keys: Sequence[sequences.Key]
) -> dict[sequences.Key, int]:
    """Add this batch to each (client, url) counter, a statement per `SEQUENCE_CHUNK` pairs;
    the counters after."""
    increments = sequences.increments(keys)
    counters: dict[sequences.Key, int] = {}
    for start in range(0, len(increments), SEQUENCE_CHUNK):
        chunk = increments[start : start + SEQUENCE_CHUNK]
        count = COUNT_SEQUENCES.format(values=", ".join(["(?, ?, ?)"] * len(chunk)))
        connection.execute(count, [value for row in chunk for value in row])
        read = READ_SEQUENCES.format(values=", ".join(["(?, ?)"] * len(chunk)))
        rows = connection.execute(
            read, [value for client, url, _ in chunk for value in (client, url)]
        )
        counters.update({(row[0], row[1]): int(row[2]) for row in rows.fetchall()})
    return counters


def _hosts(connection: sqlite3.Connection, after: str) -> Iterator[str]:
    """Callback hosts with pending deliveries, in order from just after `after`, wrapping
    around once; at most `MAX_HOSTS`."""
    host, wrapped = after, not after
    for _ in range(MAX_HOSTS):
        row = connection.execute(NEXT_HOST, (host,)).fetchone()
        if row is None:
            if wrapped:
                return
            host, wrapped = "", True
            row = connection.execute(NEXT_HOST, (host,)).fetchone()
            if row is None:
                return
        host = row[0]
        if wrapped and after and host > after:
            return
        yield host


def _due_in(connection: sqlite3.Connection, excluding: frozenset[str]) -> float | None:
    """Seconds from the database's now to the earliest due time of the first `MAX_HOSTS`
    hosts' pending deliveries, hosts in `excluding` left out."""
    firsts = (
        connection.execute(FIRST_DUE_OF_HOST, (host,)).fetchone()
        for host in _hosts(connection, "")
        if host not in excluding
    )
    first = read_stamp(min((row[0] for row in firsts if row is not None), default=None))
    if first is None:
        return None
    return (first - database_now(connection)).total_seconds()


def _extend(connection: sqlite3.Connection, leases: Leases, lease_seconds: float) -> None:
    until = stamp(database_now(connection) + timedelta(seconds=lease_seconds))
    for lease, delivery_ids in by_lease(leases).items():
        connection.execute(EXTEND, (until, lease, id_list(delivery_ids)))


def _release(connection: sqlite3.Connection, leases: Leases) -> None:
    now = stamp(database_now(connection))
    for lease, delivery_ids in by_lease(leases).items():
        connection.execute(RELEASE, (now, now, lease, id_list(delivery_ids)))


def _release_expired(connection: sqlite3.Connection) -> int:
    now = stamp(database_now(connection))
    return max(0, int(connection.execute(RELEASE_EXPIRED, (now, now, now)).rowcount))


async def _forever() -> None:
    await asyncio.Event().wait()
