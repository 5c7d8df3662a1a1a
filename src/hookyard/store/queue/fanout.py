"""Which deliveries an ingest makes: the pure part of ingesting, shared by every backend.

Matching is generic over the catalog: a record matches when product, company and event type are
equal, it is Active, its `partition_value` equals the event's, and its `filter_value` is empty
(all) or equals the event's. A retried publish with the same (publisher, Idempotency-Key) finds
the first event instead of making a second one, also within one batch.

A backend looks up the keys (`Fanout.idempotency_keys`), then the routes of the new events
(`Fanout.routes`), and inserts the rows `Fanout.rows` makes of what it found.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from hookyard import ids, models
from hookyard.store import sequences
from hookyard.store.queue.protocol import Ingested, NewEvent, Target

PENDING = models.DeliveryState.PENDING.value
HELD = models.DeliveryState.HELD.value
ACTIVE = models.SubscriptionStatus.ACTIVE.value

Key = tuple[str, str]
"""(publisher id, idempotency key)."""
Route = tuple[str, str, str, str, str]
"""(product, company id, event type, partition value, filter value)."""
Match = tuple[str, str, str, str]
"""(subscription id, callback url, client id, status) of a matching record: Active, or Stopped
(its deliveries are made `held`, so nothing published while it is Stopped is missed), except a
partner's record Stopped because the company disconnected it."""

EVENT_COLUMNS = (
    "id",
    "product",
    "event_type",
    "company_id",
    "partition_value",
    "filter_value",
    "body",
    "publisher_id",
    "idempotency_key",
    "created_at",
)
DELIVERY_COLUMNS = (
    "id",
    "event_id",
    "subscription_id",
    "host",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
    "sequence",
)


@functools.lru_cache(maxsize=4096)
def callback_host(url: str) -> str:
    """The `host:port` a callback URL connects to: the unit of the per-host concurrency limit.
    (Cached: a fan-out asks again for every delivery to the same few URLs.)"""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"[:300]


def route(event: NewEvent) -> Route:
    return (
        event.product,
        event.company_id,
        event.event_type,
        event.partition_value,
        event.filter_value,
    )


def key(event: NewEvent) -> Key | None:
    if event.idempotency_key is None:
        return None
    return (event.publisher_id, event.idempotency_key)


def targeted(event: NewEvent) -> list[Match]:
    """The records a targeted event goes to, as matches (Active: the caller checked them; a
    record Stopped since is held at claim)."""
    return [_match(target) for target in event.targets or ()]


def _match(target: Target) -> Match:
    return (target.subscription_id, target.callback_url, target.client_id, ACTIVE)


@dataclass
class Rows:
    """The rows to insert, in `EVENT_COLUMNS` and `DELIVERY_COLUMNS` order, and the answer."""

    events: list[tuple[object, ...]]
    deliveries: list[tuple[object, ...]]
    results: list[Ingested]
    keys: list[sequences.Key] = field(default_factory=list)
    """(client id, url) of each delivery, in order: what its sequence number counts."""

    def number(self, last: Mapping[sequences.Key, int]) -> None:
        """Set each delivery's sequence number from the counters after this batch (`last`)."""
        numbers = sequences.assign(self.keys, last)
        self.deliveries = [(*row[:-1], n) for row, n in zip(self.deliveries, numbers, strict=True)]


class Fanout:
    """One ingest's events and what the database said about them."""

    def __init__(self, events: Sequence[NewEvent], now: datetime) -> None:
        self.events = events
        self.now = now

    def idempotency_keys(self) -> list[Key]:
        """The idempotency keys to look up, each once."""
        return list(dict.fromkeys(k for k in map(key, self.events) if k is not None))

    def routes(self, existing: Mapping[Key, str]) -> list[Route]:
        """The routes of the events that are not repeats and not targeted, each once."""
        fresh = (e for e in self.events if key(e) not in existing and e.targets is None)
        return list(dict.fromkeys(map(route, fresh)))

    def rows(self, existing: Mapping[Key, str], matches: Mapping[Route, Sequence[Match]]) -> Rows:
        """The event and delivery rows for what was found (`existing` keys, `matches` per
        route); a key repeated within the batch is a repeat of its first event."""
        seen = dict(existing)
        rows = Rows([], [], [])
        for event in self.events:
            event_key = key(event)
            if event_key is not None and event_key in seen:
                rows.results.append(Ingested(seen[event_key], 0, duplicate=True))
                continue
            event_id = ids.prefixed(ids.EVENT)
            if event_key is not None:
                seen[event_key] = event_id
            rows.events.append(self._event_row(event, event_id))
            found = targeted(event) if event.targets is not None else matches.get(route(event), ())
            rows.deliveries.extend(self._delivery_row(event_id, match) for match in found)
            rows.keys.extend((client, url) for _, url, client, _ in found)
            rows.results.append(Ingested(event_id, len(found), duplicate=False))
        return rows

    def _event_row(self, event: NewEvent, event_id: str) -> tuple[object, ...]:
        return (
            event_id,
            event.product,
            event.event_type,
            event.company_id,
            event.partition_value,
            event.filter_value,
            event.body,
            event.publisher_id,
            event.idempotency_key,
            self.now,
        )

    def _delivery_row(self, event_id: str, match: Match) -> tuple[object, ...]:
        subscription_id, url, _, status = match
        now = self.now
        state = PENDING if status == ACTIVE else HELD
        delivery_id = ids.prefixed(ids.DELIVERY)
        return (
            delivery_id,
            event_id,
            subscription_id,
            callback_host(url),
            state,
            0,
            now,
            now,
            now,
            None,
        )
