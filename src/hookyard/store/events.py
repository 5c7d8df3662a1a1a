"""Event ingestion: an event and every delivery it fans out to, committed in one transaction.

Matching is generic over the catalog: a record matches when product, company and event type are
equal, it is Active, its `partition_value` equals the event's, and its `filter_value` is empty
(all) or equals the event's. A retried publish with the same (publisher, Idempotency-Key) finds
the first event instead of making a second one.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from hookyard import errors, ids, models
from hookyard.store import schema
from hookyard.store.database import Database
from hookyard.store.prepared import CoreStatements, PreparedCache, StatementRunner, Statements
from hookyard.store.wakeup import Wakeup


@dataclass(frozen=True)
class NewEvent:
    """An event to ingest; `body` is the exact payload every subscriber will receive."""

    product: str
    event_type: str
    company_id: str
    partition_value: str
    filter_value: str
    body: bytes
    publisher_id: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Ingested:
    """What ingesting one event did: its id, how many deliveries, and whether it was a repeat."""

    event_id: str
    deliveries: int
    duplicate: bool


@functools.lru_cache(maxsize=4096)
def callback_host(url: str) -> str:
    """The `host:port` a callback URL connects to: the unit of the per-host concurrency limit.
    (Cached: a fan-out asks again for every delivery to the same few URLs.)"""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"[:300]


def _event(row: Any) -> models.Event:
    return models.Event(
        id=row["id"],
        product=row["product"],
        event_type=row["event_type"],
        company_id=row["company_id"],
        partition_value=row["partition_value"] or None,
        filter_value=row["filter_value"] or None,
        body=bytes(row["body"]),
        publisher_id=row["publisher_id"],
        idempotency_key=row["idempotency_key"],
        created_at=row["created_at"],
    )


_events = schema.events
_subscriptions = schema.subscriptions

# Built once: a statement made per call costs more to construct (and to key for SQLAlchemy's
# compiled cache, or to compile for the SQLite writer thread) than the database takes to run it.
_EXISTING = select(_events.c.id).where(
    _events.c.publisher_id == bindparam("publisher_id"),
    _events.c.idempotency_key == bindparam("idempotency_key"),
)
_MATCHING = select(_subscriptions.c.id, _subscriptions.c.callback_url).where(
    _subscriptions.c.product == bindparam("product"),
    _subscriptions.c.company_id == bindparam("company_id"),
    _subscriptions.c.event_type == bindparam("event_type"),
    _subscriptions.c.status == models.SubscriptionStatus.ACTIVE.value,
    _subscriptions.c.partition_value == bindparam("partition_value"),
    or_(
        _subscriptions.c.filter_value == "",
        _subscriptions.c.filter_value == bindparam("filter_value"),
    ),
)
_INSERT_EVENTS = insert(_events)
_INSERT_DELIVERIES = insert(schema.deliveries)


class _Fanout:
    """The statements of one ingest transaction, from synchronous code: SQLite runs them whole in
    the hot-path thread (`Database.run_write`), PostgreSQL through one `run_sync`."""

    def __init__(self, runner: StatementRunner, now: datetime) -> None:
        self._runner = runner
        self._now = now
        self._event_rows: list[dict[str, Any]] = []
        self._delivery_rows: list[dict[str, Any]] = []
        self._seen: dict[str, str] = {}
        self._routes: dict[tuple[str, ...], list[Sequence[Any]]] = {}

    def run(self, events: Sequence[NewEvent]) -> list[Ingested]:
        results = [self._add(event) for event in events]
        if self._event_rows:
            self._runner.insert(_INSERT_EVENTS, self._event_rows)
        if self._delivery_rows:
            self._runner.insert(_INSERT_DELIVERIES, self._delivery_rows)
        return results

    def _add(self, event: NewEvent) -> Ingested:
        existing = self._existing(event)
        if existing is not None:
            return Ingested(existing, 0, duplicate=True)
        event_id = ids.prefixed(ids.EVENT)
        if event.idempotency_key is not None:
            self._seen[event.idempotency_key] = event_id
        self._event_rows.append(_event_values(event, event_id, self._now))
        matches = self._matching(event)
        self._delivery_rows.extend(
            _delivery_values(event_id, str(sub), str(url), self._now) for sub, url in matches
        )
        return Ingested(event_id, len(matches), duplicate=False)

    def _existing(self, event: NewEvent) -> str | None:
        key = event.idempotency_key
        if key is None:
            return None
        if key in self._seen:
            return self._seen[key]
        rows = self._runner.rows(
            _EXISTING, {"publisher_id": event.publisher_id, "idempotency_key": key}
        )
        return str(rows[0][0]) if rows else None

    def _matching(self, event: NewEvent) -> list[Sequence[Any]]:
        route = _route(event)
        if route not in self._routes:
            self._routes[route] = self._runner.rows(
                _MATCHING,
                {
                    "product": event.product,
                    "company_id": event.company_id,
                    "event_type": event.event_type,
                    "partition_value": event.partition_value,
                    "filter_value": event.filter_value,
                },
            )
        return self._routes[route]


class EventRepository:
    """Queries over events and their fan-out into deliveries."""

    def __init__(self, db: Database, wakeup: Wakeup) -> None:
        self._db = db
        self._wakeup = wakeup
        self._prepared = PreparedCache()

    async def ingest(self, events: Sequence[NewEvent], now: datetime) -> list[Ingested]:
        """Store `events` and all their deliveries in one transaction; all or nothing."""
        try:
            results = await self._ingest(events, now)
        except IntegrityError:
            # A concurrent publish with the same key won the race; its events are the answer.
            results = await self._ingest(events, now)
        if any(result.deliveries for result in results):
            self._wakeup.notify()
        return results

    async def _ingest(self, events: Sequence[NewEvent], now: datetime) -> list[Ingested]:
        if self._db.has_hot_path:
            dialect, prepared = self._db.writer.dialect, self._prepared
            return await self._db.run_write(
                lambda connection: _Fanout(Statements(connection, dialect, prepared), now).run(
                    events
                )
            )
        async with self._db.write() as connection:
            results = await connection.run_sync(
                lambda sync: _Fanout(CoreStatements(sync), now).run(events)
            )
            if any(result.deliveries for result in results):
                await self._wakeup.notify_in(connection)
        return results

    async def get(self, event_id: str) -> models.Event:
        """One event; NotFound when there is none."""
        async with self._db.read() as connection:
            statement = select(schema.events).where(schema.events.c.id == event_id)
            row = (await connection.execute(statement)).mappings().first()
        if row is None:
            raise errors.NotFound(f"There is no event {event_id!r}; check the id.")
        return _event(row)

    async def by_keys(self, publisher_id: str, keys: Sequence[str]) -> dict[str, models.Event]:
        """The events `publisher_id` published with these Idempotency-Keys, by key."""
        table = schema.events
        async with self._db.read() as connection:
            statement = select(table).where(
                table.c.publisher_id == publisher_id, table.c.idempotency_key.in_(list(keys))
            )
            rows = (await connection.execute(statement)).mappings().all()
        return {row["idempotency_key"]: _event(row) for row in rows}

    async def count(self) -> int:
        async with self._db.read() as connection:
            result = await connection.execute(select(func.count()).select_from(schema.events))
            return int(result.scalar_one())


def _route(event: NewEvent) -> tuple[str, ...]:
    return (
        event.product,
        event.company_id,
        event.event_type,
        event.partition_value,
        event.filter_value,
    )


def _event_values(event: NewEvent, event_id: str, now: datetime) -> dict[str, Any]:
    return {
        "id": event_id,
        "product": event.product,
        "event_type": event.event_type,
        "company_id": event.company_id,
        "partition_value": event.partition_value,
        "filter_value": event.filter_value,
        "body": event.body,
        "publisher_id": event.publisher_id,
        "idempotency_key": event.idempotency_key,
        "created_at": now,
    }


def _delivery_values(
    event_id: str, subscription_id: str, url: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": ids.prefixed(ids.DELIVERY),
        "event_id": event_id,
        "subscription_id": subscription_id,
        "host": callback_host(url),
        "state": models.DeliveryState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "locked_until": None,
        "created_at": now,
        "updated_at": now,
        "last_status": None,
        "last_error": None,
    }
