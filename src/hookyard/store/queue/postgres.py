"""The delivery queue on PostgreSQL: every hot statement, on asyncpg without SQLAlchemy.

Two small asyncpg pools: claims and leases run with `synchronous_commit = off` (a claim lost in a
crash only leaves its deliveries pending; the next durable commit flushes it anyway), ingest and
finish durably. Both pools plan without trusting table statistics (`enable_seqscan`, hash and
merge joins off, no JIT): every hot statement is an index walk over a few rows, and a plan
chosen while a table was empty must not scan it once it is full.

A claim walks the callback hosts with pending deliveries from where the previous claim stopped
(a recursive skip over `ix_deliveries_host_due`, one index probe per host), takes up to each
host's room by due time with `FOR UPDATE SKIP LOCKED` inside `ARRAY(...)` (so the limit holds
exactly), and never reads the backlog of a host without room. Deliveries whose record is no
longer Active are held by the same statement instead of leased.

Lease and due times are the database's: every hot statement reads the time as
`timezone('UTC', now())` (the columns hold naive UTC), never a time a worker sends, so workers
whose clocks disagree still agree on whose lease has expired and which retry is due; a new
delivery is due at the database's now at the latest, whatever the publishing host's clock says.

Finishing tries is `postgres_finish`, requeueing and the held cap `postgres_requeue`; this module
has ingest, claim, leases and wake-ups, and the `QueueBackend` that runs them all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from hookyard import models
from hookyard.store import outage, sequences
from hookyard.store.queue import fanout, postgres_finish, postgres_requeue
from hookyard.store.queue.group import GroupCommit
from hookyard.store.queue.postgres_values import columns, read_stamp
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

CHANNEL = "hookyard_deliveries"
PLANNING = {
    "jit": "off",
    "enable_seqscan": "off",
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
}
LISTEN_CHECK_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 10.0

# ingest

EXISTING = (
    "SELECT e.publisher_id, e.idempotency_key, e.id FROM events e"
    " JOIN unnest($1::text[], $2::text[]) AS k(publisher_id, idempotency_key)"
    " ON e.publisher_id = k.publisher_id AND e.idempotency_key = k.idempotency_key"
)
MATCHING = (
    "SELECT r.n, s.id, s.callback_url, s.client_id, s.status"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])"
    " WITH ORDINALITY AS r(product, company_id, event_type, partition_value, filter_value, n)"
    " JOIN subscriptions s ON s.product = r.product AND s.company_id = r.company_id"
    " AND s.event_type = r.event_type AND (s.status = 'Active' OR (s.status = 'Stopped'"
    " AND s.stop_reason IS DISTINCT FROM 'disconnected'))"
    " AND s.partition_value = r.partition_value"
    " AND (s.filter_value = '' OR s.filter_value = r.filter_value)"
)
INSERT_EVENTS = (
    f"INSERT INTO events ({', '.join(fanout.EVENT_COLUMNS)}) SELECT * FROM unnest("  # noqa: S608
    "$1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[],"
    " $8::text[], $9::text[], $10::timestamp[])"
)
# Sorted, so two transactions take the counters' row locks in the same order (no deadlock).
# $23-$25: (client id, url, how many new deliveries) per pair, from `sequences.increments`.
COUNT_SEQUENCES = (
    "INSERT INTO callback_sequences AS s (client_id, callback_url, last_sequence)"
    " SELECT * FROM unnest($23::text[], $24::text[], $25::bigint[]) ORDER BY 1, 2"
    " ON CONFLICT (client_id, callback_url)"
    " DO UPDATE SET last_sequence = s.last_sequence + excluded.last_sequence"
    " RETURNING client_id, callback_url, last_sequence"
)
# A new delivery is due at once by the database's clock: an API host whose clock runs ahead
# would otherwise make every delivery it ingests wait out the skew.
DUE_NOW_AT_THE_LATEST = {
    "next_attempt_at": "LEAST(u.next_attempt_at, timezone('UTC', now())) AS next_attempt_at"
}
# The events, their deliveries and the wake-up in one round trip (a publish is a handful of
# round trips, and each costs the API process more CPU than the statement costs the server).
# The deliveries' foreign key to events is checked at the end of the statement, when both
# inserts are done.
_DELIVERY_ARRAYS = (
    "$11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::int[],"
    " $17::timestamp[], $18::timestamp[], $19::timestamp[]"
)
_UNNUMBERED = (*fanout.DELIVERY_COLUMNS[:-1],)
INSERT_EVENTS_AND_DELIVERIES = (
    f"WITH e AS ({INSERT_EVENTS}), d AS ("  # noqa: S608 (constants)
    f"INSERT INTO deliveries ({', '.join(fanout.DELIVERY_COLUMNS)})"
    f" SELECT {', '.join(DUE_NOW_AT_THE_LATEST.get(c, c) for c in fanout.DELIVERY_COLUMNS)}"
    f" FROM unnest({_DELIVERY_ARRAYS}, $20::bigint[])"
    f" AS u({', '.join(fanout.DELIVERY_COLUMNS)}))"
    f" SELECT pg_notify('{CHANNEL}', '')"
)
# The same with sequence numbers: the counters' upsert is a third part of the statement, so a
# counter's row lock is taken by the last statement of the publish and held only through its
# commit (not across another round trip), and each delivery's number is its counter after this
# batch less `back` (how many of the batch's deliveries to the same url follow it).
INSERT_NUMBERED = (
    f"WITH n AS ({COUNT_SEQUENCES}), e AS ({INSERT_EVENTS}), d AS ("  # noqa: S608 (constants)
    f"INSERT INTO deliveries ({', '.join(fanout.DELIVERY_COLUMNS)})"
    f" SELECT {', '.join(DUE_NOW_AT_THE_LATEST.get(c, 'u.' + c) for c in _UNNUMBERED)},"
    " n.last_sequence - u.back"
    f" FROM unnest({_DELIVERY_ARRAYS}, $20::text[], $21::text[], $22::bigint[])"
    f" AS u({', '.join(_UNNUMBERED)}, client_id, callback_url, back)"
    " JOIN n ON n.client_id = u.client_id AND n.callback_url = u.callback_url)"
    f" SELECT pg_notify('{CHANNEL}', '')"
)

# claim: $1 lease seconds, $2 lease token, $3 start after host, $4 limit, $5 per-host cap,
# $6/$7 hosts in hand and how many, $8 how many hosts to look at

CLAIM = """
WITH RECURSIVE hosts(host, n) AS (
    (SELECT host, 1 FROM deliveries WHERE state = 'pending' AND host > $3
     ORDER BY host LIMIT 1)
  UNION ALL
    SELECT (SELECT d.host FROM deliveries d WHERE d.state = 'pending' AND d.host > h.host
            ORDER BY d.host LIMIT 1), h.n + 1
    FROM hosts h WHERE h.host IS NOT NULL AND h.n < $8
),
claimed AS (
    UPDATE deliveries d SET
        state = CASE WHEN s.status = 'Active' THEN 'in_flight' ELSE 'held' END,
        locked_until = CASE WHEN s.status = 'Active'
            THEN timezone('UTC', now()) + $1::float8 * interval '1 second' END,
        lease_owner = CASE WHEN s.status = 'Active' THEN $2::text END,
        updated_at = timezone('UTC', now())
    FROM subscriptions s
    WHERE s.id = d.subscription_id AND d.id = ANY(ARRAY(
        SELECT due.id FROM hosts h CROSS JOIN LATERAL (
            SELECT x.id FROM deliveries x
            WHERE x.state = 'pending' AND x.host = h.host
                AND x.next_attempt_at <= timezone('UTC', now())
            ORDER BY x.next_attempt_at
            LIMIT GREATEST(0, LEAST($4::int, $5::int - COALESCE((SELECT i.n
                FROM unnest($6::text[], $7::int[]) AS i(host, n) WHERE i.host = h.host), 0)))
            FOR UPDATE SKIP LOCKED) AS due
        WHERE h.host IS NOT NULL
        LIMIT $4))
    RETURNING d.id, d.subscription_id, d.host, d.attempts, d.event_id, d.state, d.sequence,
        d.next_attempt_at, d.lease_owner, d.earlier_attempts, s.product, s.callback_url,
        s.secret_key, s.previous_secret_key,
        s.previous_secret_until
)
SELECT c.id, c.subscription_id, c.host, c.attempts, c.callback_url, e.body, c.secret_key,
    c.previous_secret_key, c.previous_secret_until, c.sequence, c.lease_owner, c.earlier_attempts,
    c.product
FROM claimed c JOIN events e ON e.id = c.event_id
WHERE c.state = 'in_flight'
ORDER BY c.next_attempt_at, c.id
"""


def claimed(row: Mapping[str, Any]) -> Claimed:
    """A `CLAIM` row; a row that does not read comes back with its `problem` set."""
    try:
        return Claimed(
            row["id"],
            row["subscription_id"],
            row["host"],
            row["attempts"],
            row["callback_url"],
            bytes(row["body"]),
            row["secret_key"],
            row["previous_secret_key"],
            read_stamp(row["previous_secret_until"]),
            sequence=row["sequence"],
            lease=row["lease_owner"],
            earlier_attempts=row["earlier_attempts"],
            product=row["product"],
        )
    except (TypeError, ValueError) as exc:
        return Claimed.unreadable(
            row["id"],
            row["subscription_id"],
            row["host"],
            row["attempts"] or 0,
            exc,
            row["lease_owner"],
        )


# leases: $1 lease seconds (extend), then delivery ids and the tokens they are leased under

EXTEND = (
    "UPDATE deliveries d SET locked_until = timezone('UTC', now()) + $1::float8"
    " * interval '1 second' FROM unnest($2::text[], $3::text[]) AS u(id, lease)"
    " WHERE d.id = u.id AND d.state = 'in_flight' AND d.lease_owner = u.lease"
)
RELEASE_HELD = (
    "WITH released AS (UPDATE deliveries d SET state = 'pending', locked_until = NULL,"
    " lease_owner = NULL, next_attempt_at = timezone('UTC', now()),"
    " updated_at = timezone('UTC', now()) FROM unnest($1::text[], $2::text[]) AS u(id, lease)"
    " WHERE d.id = u.id AND d.state = 'in_flight' AND d.lease_owner = u.lease"
    " RETURNING 1) SELECT count(*), (SELECT pg_notify('hookyard_deliveries', '')"
    " WHERE EXISTS (SELECT 1 FROM released)) FROM released"
)
RELEASE_EXPIRED = (
    "WITH released AS (UPDATE deliveries SET state = 'pending', locked_until = NULL,"
    " lease_owner = NULL, next_attempt_at = timezone('UTC', now()),"
    " updated_at = timezone('UTC', now())"
    " WHERE state = 'in_flight' AND locked_until < timezone('UTC', now())"
    " RETURNING 1) SELECT count(*), (SELECT pg_notify('hookyard_deliveries', '')"
    " WHERE EXISTS (SELECT 1 FROM released)) FROM released"
)

DUE_IN = """
WITH RECURSIVE hosts(host, n) AS (
    (SELECT host, 1 FROM deliveries WHERE state = 'pending' ORDER BY host LIMIT 1)
  UNION ALL
    SELECT (SELECT d.host FROM deliveries d WHERE d.state = 'pending' AND d.host > h.host
            ORDER BY d.host LIMIT 1), h.n + 1
    FROM hosts h WHERE h.host IS NOT NULL AND h.n < $1
)
SELECT extract(epoch FROM min(first.next_attempt_at) - timezone('UTC', now()))::float8
FROM hosts h CROSS JOIN LATERAL (
    SELECT x.next_attempt_at FROM deliveries x WHERE x.state = 'pending' AND x.host = h.host
    ORDER BY x.next_attempt_at LIMIT 1) AS first
WHERE h.host IS NOT NULL AND h.host <> ALL($2::text[])
"""


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """A released hot-path connection needs no reset query: these statements leave no session
    state (no SET, cursor, advisory lock or LISTEN; the wake-up listener has its own
    connection). asyncpg still rolls back an open transaction and drops listeners first. The
    default reset is a fifth round trip per publish (`UNLISTEN *; RESET ALL; ...`)."""


FLUSHES = 2
"""Ingest transactions in flight at once per process: more than one overlaps one's round trips
with another's commit; each further publish joins the next transaction instead."""


class PostgresQueue:
    """`QueueBackend` on PostgreSQL."""

    flush_writers = 4
    numbered = True
    """Whether ingest numbers deliveries per (client, url); off only to measure its cost."""

    def __init__(self, url: str, wake_local: Callback, *, pool_size: int = 10) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._name = outage.database_name(url)
        self._wake_local = wake_local
        self._pool_size = pool_size
        self._durable: asyncpg.Pool | None = None
        self._fast: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._after = ""
        # Publishes that arrive while FLUSHES ingests are in flight share the next transaction.
        self.grouped = GroupCommit(self._ingest_now, flushes=FLUSHES)

    async def _pools(self) -> tuple[asyncpg.Pool, asyncpg.Pool]:
        if self._durable is None or self._fast is None:
            async with self._opening:
                if self._durable is None:
                    self._durable = await self._pool(self._pool_size, {})
                if self._fast is None:
                    self._fast = await self._pool(2, {"synchronous_commit": "off"})
        return self._durable, self._fast

    async def _pool(self, size: int, settings: dict[str, str]) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            self._dsn,
            min_size=0,
            max_size=size,
            timeout=CONNECT_TIMEOUT_SECONDS,
            server_settings={**PLANNING, **settings},
            reset=_keep_session,
        )

    @contextlib.asynccontextmanager
    async def _durable_connection(self) -> AsyncIterator[asyncpg.Connection]:
        with outage.translated(self._name):
            durable, _ = await self._pools()
            async with durable.acquire() as connection:
                yield connection

    @contextlib.asynccontextmanager
    async def _fast_connection(self) -> AsyncIterator[asyncpg.Connection]:
        with outage.translated(self._name):
            _, fast = await self._pools()
            async with fast.acquire() as connection:
                yield connection

    # ingest

    async def ingest(self, events: Sequence[NewEvent], now: datetime) -> list[Ingested]:
        return await self.grouped.ingest(events, now)

    async def _ingest_now(self, events: Sequence[NewEvent], now: datetime) -> list[Ingested]:
        try:
            results = await self._ingest(fanout.Fanout(events, now))
        except asyncpg.UniqueViolationError:
            # A concurrent publish with the same key won the race; its events are the answer.
            results = await self._ingest(fanout.Fanout(events, now))
        if any(result.deliveries for result in results):
            self._wake_local()
        return results

    async def _ingest(self, plan: fanout.Fanout) -> list[Ingested]:
        # No BEGIN and COMMIT round trips: the lookups need no transaction (a record subscribed
        # or deleted meanwhile races the same way inside one), and the write is one statement,
        # all or nothing on its own (events, deliveries, counters and the wake-up).
        async with self._durable_connection() as connection:
            existing = await _existing(connection, plan.idempotency_keys())
            routes = plan.routes(existing)
            matches = await _matching(connection, routes)
            rows = plan.rows(existing, matches)
            events = columns(rows.events, len(fanout.EVENT_COLUMNS))
            if rows.deliveries and self.numbered:
                deliveries = columns(rows.deliveries, len(fanout.DELIVERY_COLUMNS))[:-1]
                numbering = _numbering(rows.keys)
                await connection.execute(INSERT_NUMBERED, *events, *deliveries, *numbering)
            elif rows.deliveries:
                deliveries = columns(rows.deliveries, len(fanout.DELIVERY_COLUMNS))
                await connection.execute(INSERT_EVENTS_AND_DELIVERIES, *events, *deliveries)
            elif rows.events:
                await connection.execute(INSERT_EVENTS, *events)
        return rows.results

    # claim

    async def claim(self, request: ClaimRequest) -> list[Claimed]:
        if request.limit <= 0:
            return []
        after, self._after = self._after, ""
        jobs = await self._claim(request, after, request.limit)
        if len(jobs) < request.limit and after:
            # Wrap around to the hosts before where the last claim stopped.
            jobs += await self._claim(request, "", request.limit - len(jobs))
        elif len(jobs) >= request.limit:
            self._after = max(job.host for job in jobs)
        return jobs

    async def _claim(self, request: ClaimRequest, after: str, limit: int) -> list[Claimed]:
        per_host = request.limit if request.per_host is None else request.per_host
        hosts = list(request.in_hand)
        values = (
            request.lease_seconds,
            request.lease_token(),
            after,
            limit,
            per_host,
            hosts,
            [request.in_hand[host] for host in hosts],
            MAX_HOSTS,
        )
        async with self._fast_connection() as connection:
            rows = await connection.fetch(CLAIM, *values)
        return [claimed(row) for row in rows]

    # finish

    async def finish(self, tries: Sequence[Finished], *, now: datetime) -> frozenset[str]:
        if not tries:
            return frozenset()
        async with self._durable_connection() as connection:
            return await postgres_finish.finish(connection, tries, now)

    # leases

    async def extend(self, leases: Leases, *, lease_seconds: float) -> None:
        if leases:
            async with self._fast_connection() as connection:
                await connection.execute(EXTEND, lease_seconds, *_lease_columns(leases))

    async def release(self, leases: Leases) -> None:
        if leases:
            async with self._durable_connection() as connection:
                await connection.fetchval(RELEASE_HELD, *_lease_columns(leases))
            self._wake_local()

    async def release_expired(self) -> int:
        async with self._durable_connection() as connection:
            count = await connection.fetchval(RELEASE_EXPIRED)
        return int(count or 0)

    async def due_in(self, excluding: Collection[str] = ()) -> float | None:
        async with self._fast_connection() as connection:
            due_in = await connection.fetchval(DUE_IN, MAX_HOSTS, list(excluding))
        return None if due_in is None else float(due_in)

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
        wanted = sorted(state.value for state in states)
        async with self._durable_connection() as connection:
            count = await postgres_requeue.requeue(connection, delivery_ids, now, wanted)
        if count:
            self._wake_local()
        return count

    async def reactivate(self, record_ids: Sequence[str], *, now: datetime) -> int:
        if not record_ids:
            return 0
        async with self._durable_connection() as connection, connection.transaction():
            count = await postgres_requeue.reactivate(connection, record_ids, now)
        if count:
            self._wake_local()
        return count

    async def drop_held(self, cap: int, older_than: datetime) -> dict[str, int]:
        async with self._durable_connection() as connection, connection.transaction():
            return await postgres_requeue.drop_held(connection, cap, older_than)

    # wake-ups

    async def listen(self, callback: Callback, ready: Callback) -> None:
        with outage.translated(self._name):
            connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_SECONDS)
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _connection: lost.set())
            await connection.add_listener(CHANNEL, lambda *_args: callback())
            ready()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), LISTEN_CHECK_SECONDS)
                if connection.is_closed():
                    break
            raise ConnectionError("the wake-up connection to PostgreSQL was lost")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 5)

    async def close(self) -> None:
        for pool in (self._durable, self._fast):
            if pool is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pool.close(), 10)
        self._durable = self._fast = None


async def _existing(
    connection: asyncpg.Connection, keys: Sequence[fanout.Key]
) -> dict[fanout.Key, str]:
    if not keys:
        return {}
    publishers, idempotency_keys = zip(*keys, strict=True)
    rows = await connection.fetch(EXISTING, list(publishers), list(idempotency_keys))
    return {(row[0], row[1]): row[2] for row in rows}


async def _matching(
    connection: asyncpg.Connection, routes: Sequence[fanout.Route]
) -> dict[fanout.Route, list[fanout.Match]]:
    matches: dict[fanout.Route, list[fanout.Match]] = {route: [] for route in routes}
    if not routes:
        return matches
    rows = await connection.fetch(MATCHING, *(list(c) for c in zip(*routes, strict=True)))
    for row in rows:
        matches[routes[row[0] - 1]].append((row[1], row[2], row[3], row[4]))
    return matches


def _numbering(keys: Sequence[sequences.Key]) -> list[list[Any]]:
    """INSERT_NUMBERED's $20-$25: each delivery's (client, url) and `back`, then the counters'
    increments."""
    increments = sequences.increments(keys)
    return [
        [client for client, _ in keys],
        [url for _, url in keys],
        sequences.backs(keys),
        *([list(column) for column in zip(*increments, strict=True)]),
    ]


def _lease_columns(leases: Leases) -> tuple[list[str], list[str]]:
    return list(leases), list(leases.values())
