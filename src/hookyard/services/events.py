"""Publishing product events: validate against the catalog, build the payload, ingest.

An event is `{"eventType", "companyId", ...the product's fields}`. It is checked against its
product's catalog entry (known event type, every field present as a non-empty string, no unknown
field), its HCSS body is built once, and the event and all its deliveries are committed together.
The same Idempotency-Key from the same publisher returns the first event's id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hookyard import catalog, clock, errors, metrics
from hookyard.services import idempotency, tenant_checks
from hookyard.store import Store
from hookyard.store.queue import Ingested, NewEvent

COMPANY_ID_CHARS = 36
MATCH_FIELD_CHARS = 64
IDEMPOTENCY_KEY_CHARS = 200
RESERVED = ("eventType", "companyId")


@dataclass(frozen=True)
class Published:
    """An accepted event: its id, how many deliveries it made, and whether it repeated a key."""

    event_id: str
    deliveries: int
    duplicate: bool


class EventService:
    """Publish events of any catalog product."""

    def __init__(
        self,
        store: Store,
        products: catalog.Catalog,
        *,
        public_base_url: str,
        max_batch_events: int = 1000,
        now: clock.Clock = clock.utcnow,
    ) -> None:
        self._store = store
        self._catalog = products
        self._base = public_base_url
        self._max_batch = max_batch_events
        self._now = now
        self._tenants = tenant_checks.KnownTenants(store)

    async def publish(
        self,
        product: str,
        event: Any,
        *,
        publisher_id: str,
        idempotency_key: str | None = None,
        for_company: str | None = None,
    ) -> Published:
        """Validate and store one event of the product with route segment `product`.

        With `for_company`, only events of that company are accepted (Forbidden otherwise).
        """
        entry = self._catalog.by_route(product)
        _check_key(idempotency_key)
        new = self._prepare(entry, event, publisher_id, idempotency_key, prefix="")
        _only_for(for_company, [new])
        await self._check_tenants(entry, [new], batch=False)
        (published,) = await self._ingest(entry, [new], idempotency_key, batch=False)
        return published

    async def publish_many(
        self,
        product: str,
        events: Any,
        *,
        publisher_id: str,
        idempotency_key: str | None = None,
        for_company: str | None = None,
    ) -> list[Published]:
        """Validate every event first, then store them all in one transaction (or none)."""
        entry = self._catalog.by_route(product)
        _check_key(idempotency_key)
        if not isinstance(events, list) or not events:
            raise errors.InvalidInput.field("events", "send a non-empty JSON array of events")
        if len(events) > self._max_batch:
            raise errors.InvalidInput.field(
                "events", f"send at most {self._max_batch} events per batch, not {len(events)}"
            )
        keys = [f"{idempotency_key}#{i}" if idempotency_key else None for i in range(len(events))]
        problems: dict[str, list[str]] = {}
        prepared: list[NewEvent] = []
        for index, (event, key) in enumerate(zip(events, keys, strict=True)):
            try:
                prepared.append(self._prepare(entry, event, publisher_id, key, f"[{index}]."))
            except errors.InvalidInput as exc:
                problems.update(exc.errors)
        if problems:
            raise errors.InvalidInput(_summary(problems), problems)
        _only_for(for_company, prepared)
        await self._check_tenants(entry, prepared, batch=True)
        return await self._ingest(entry, prepared, idempotency_key, batch=True)

    async def _ingest(
        self, product: catalog.Product, events: list[NewEvent], key: str | None, *, batch: bool
    ) -> list[Published]:
        """Store `events`, or answer the first request's events when they repeat its key."""
        if key is not None:
            first = await idempotency.replayed(self._store, events, key=key, batch=batch)
            if first is not None:
                return [Published(event.id, 0, True) for event in first]
        results = await self._store.queue.ingest(events, self._now())
        _count(product, results)
        if key is not None and any(result.duplicate for result in results):
            # A concurrent request with the same key was stored first: compare with it.
            await idempotency.replayed(self._store, events, key=key, batch=batch)
        return [Published(r.event_id, r.deliveries, r.duplicate) for r in results]

    async def _check_tenants(
        self, product: catalog.Product, events: Sequence[NewEvent], *, batch: bool
    ) -> None:
        """InvalidInput naming the field when an event's company or business unit is unknown."""
        named = tenant_checks.named_tenants(
            (
                f"[{index}]." if batch else "",
                event.company_id,
                event.partition_value if product.partition else None,
            )
            for index, event in enumerate(events)
        )
        problems = await self._tenants.problems(named)
        if problems:
            raise errors.InvalidInput(_summary(problems), problems)

    def _prepare(
        self,
        product: catalog.Product,
        event: Any,
        publisher_id: str,
        key: str | None,
        prefix: str,
    ) -> NewEvent:
        if not isinstance(event, Mapping):
            raise errors.InvalidInput.field(prefix.rstrip(".") or "body", "must be a JSON object")
        values, problems = _fields(product, event)
        if problems:
            prefixed = {prefix + name: messages for name, messages in problems.items()}
            raise errors.InvalidInput(_summary(prefixed), prefixed)
        event_type, company_id = values.pop("eventType"), values.pop("companyId")
        return new_event(
            product,
            event_type,
            company_id,
            values,
            date=clock.isoformat(self._now()),
            base=self._base,
            publisher_id=publisher_id,
            idempotency_key=key,
        )


def new_event(
    product: catalog.Product,
    event_type: str,
    company_id: str,
    values: Mapping[str, str],
    *,
    date: str,
    base: str,
    publisher_id: str,
    idempotency_key: str | None = None,
) -> NewEvent:
    """The event to store for `values` (the event type's fields): its payload as delivered, and
    the partition and filter values subscriptions are matched on."""
    return NewEvent(
        product=product.key,
        event_type=event_type,
        company_id=company_id,
        partition_value=values[product.partition] if product.partition else "",
        filter_value=values[product.filter.event_field] if product.filter else "",
        body=product.build_payload(event_type, company_id, values, date=date, base=base),
        publisher_id=publisher_id,
        idempotency_key=idempotency_key,
    )


def _count(product: catalog.Product, results: Sequence[Ingested]) -> None:
    new = [result for result in results if not result.duplicate]
    metrics.ingested(product.key, len(new), sum(result.deliveries for result in new))


def _only_for(company_id: str | None, events: list[NewEvent]) -> None:
    if company_id is None:
        return
    if any(event.company_id != company_id for event in events):
        raise errors.Forbidden(
            "This token may publish events for its own company only; a product back end that "
            "publishes for every company needs the hookyard:admin scope."
        )


def _fields(
    product: catalog.Product, event: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    problems: dict[str, list[str]] = {}
    event_type = event.get("eventType")
    if not isinstance(event_type, str) or event_type not in product.event_types:
        valid = ", ".join(product.event_types)
        problems["eventType"] = [f"must be a {product.name} event type: one of {valid}"]
        return {}, problems
    limits = {"companyId": COMPANY_ID_CHARS, "eventType": 128}
    for name in (product.partition, product.filter.event_field if product.filter else None):
        if name:
            limits[name] = MATCH_FIELD_CHARS
    names = (*RESERVED, *product.required_fields(event_type))
    values: dict[str, str] = {}
    for name in names:
        message = _field_problem(name, event.get(name), limits.get(name, catalog.MAX_FIELD_LENGTH))
        if message:
            problems[name] = [message]
        elif name in tenant_checks.GUID_FIELDS:
            values[name] = event[name].lower()
        else:
            values[name] = event[name]
    for name in event:
        if name not in names:
            problems[str(name)] = [f"is not a field of {event_type}; send only: {', '.join(names)}"]
    return values, problems


def _field_problem(name: str, value: Any, limit: int) -> str | None:
    if value is None:
        return "is required"
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    if name in tenant_checks.GUID_FIELDS:
        return tenant_checks.guid_problem(value)
    if len(value) > limit:
        return f"must be at most {limit} characters"
    return None


def _check_key(key: str | None) -> None:
    if key is not None and not 0 < len(key) <= IDEMPOTENCY_KEY_CHARS:
        raise errors.InvalidInput.field(
            "Idempotency-Key", f"must be 1 to {IDEMPOTENCY_KEY_CHARS} characters"
        )


def _summary(problems: Mapping[str, Sequence[str]]) -> str:
    first = next(iter(problems.items()))
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first[0]}: {first[1][0]}{more}; fix the event and publish again"
