"""`hookyard.publish(...)`: product code in the same process publishes an event.

The event and all its deliveries are committed before it returns the event id. By default it uses
the settings from `HOOKYARD_*` variables and one store per event loop, opened on first use; pass
`store=` (and `settings=`) to use ones the application already holds.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from typing import Any

from hookyard import catalog
from hookyard.config import Settings
from hookyard.services.events import EventService
from hookyard.store import Store

PUBLISHER = "in-process"
_stores: dict[tuple[int, str], Store] = {}
_services: weakref.WeakKeyDictionary[Store, tuple[tuple[object, ...], EventService]] = (
    weakref.WeakKeyDictionary()
)


async def publish(
    product: str,
    event_type: str,
    *,
    company_id: str,
    fields: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
    settings: Settings | None = None,
    store: Store | None = None,
    publisher_id: str = PUBLISHER,
) -> str:
    """Publish one event of `product` (its route segment); the new (or repeated) event's id.

    `fields` are the event type's fields, e.g. {"businessUnitId": ..., "projectId": ...}.
    Raises hookyard.errors.InvalidInput or NotFound for an event the catalog does not allow.
    """
    settings = settings or Settings()
    store = store or _store(settings)
    service = _service(store, settings)
    event = {"eventType": event_type, "companyId": company_id, **(fields or {})}
    published = await service.publish(
        product, event, publisher_id=publisher_id, idempotency_key=idempotency_key
    )
    return published.event_id


def _service(store: Store, settings: Settings) -> EventService:
    """One publishing service per store (and the settings it is made from): its catalog is
    loaded once and its cache of the companies and business units events name lasts across
    publishes, instead of a file read and a database read on every one."""
    key = (settings.catalog_file, settings.public_base_url, settings.max_batch_events)
    found = _services.get(store)
    if found is None or found[0] != key:
        service = EventService(
            store,
            catalog.load(settings.catalog_file),
            public_base_url=settings.public_base_url,
            max_batch_events=settings.max_batch_events,
        )
        found = _services[store] = (key, service)
    return found[1]


def _store(settings: Settings) -> Store:
    key = (id(asyncio.get_running_loop()), settings.database_url)
    if key not in _stores:
        _stores[key] = Store.from_settings(settings, pool_size=2)
    return _stores[key]


async def close() -> None:
    """Close the stores `publish` opened in this event loop."""
    loop = id(asyncio.get_running_loop())
    for key in [key for key in _stores if key[0] == loop]:
        await _stores.pop(key).close()
