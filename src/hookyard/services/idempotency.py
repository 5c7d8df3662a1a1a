"""Idempotency-Key on publish (IETF `draft-ietf-httpapi-idempotency-key-header`): the same key
from the same publisher with the same request answers the first events again (a replay); with
a different request it is refused (422) and nothing is stored.

"The same request" is compared on what an event is made of: product, event type, company,
matching fields and the HCSS body Hookyard built from it, except the body's `date` (the time of
publishing, different on every try). A batch's events carry the keys `KEY#0`, `KEY#1`, ...; a
batch replayed with more or fewer events is a different request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from hookyard import errors, models
from hookyard.store import Store
from hookyard.store.queue import NewEvent


def _content(body: bytes) -> Any:
    data = orjson.loads(body)
    if isinstance(data, dict):
        data.pop("date", None)
    return data


def same_request(stored: models.Event, new: NewEvent) -> bool:
    """Whether `new` is the event `stored` was made from."""
    return (
        stored.product,
        stored.event_type,
        stored.company_id,
        stored.partition_value or "",
        stored.filter_value or "",
    ) == (
        new.product,
        new.event_type,
        new.company_id,
        new.partition_value or "",
        new.filter_value or "",
    ) and _content(stored.body) == _content(new.body)


def _reused(key: str) -> errors.IdempotencyKeyReused:
    return errors.IdempotencyKeyReused(
        f"The Idempotency-Key {key!r} was used before for a different request; nothing was "
        "stored. Send a new key for a new event, or the same request to get its first answer."
    )


async def replayed(
    store: Store, events: Sequence[NewEvent], *, key: str, batch: bool
) -> list[models.Event] | None:
    """The first answer's events when `events` repeat a keyed request, None when the key is new.

    IdempotencyKeyReused when the key was used for a different request."""
    publisher = events[0].publisher_id
    keys = [event.idempotency_key or "" for event in events]
    beyond = [f"{key}#{len(events)}"] if batch else []
    found = await store.events.by_keys(publisher, [*keys, *beyond])
    if not found:
        return None
    if len(found) != len(events) or any(k not in found for k in keys):
        raise _reused(key)
    for event in events:
        if not same_request(found[event.idempotency_key or ""], event):
            raise _reused(key)
    return [found[k] for k in keys]
