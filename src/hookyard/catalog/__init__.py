"""The product catalog: which products publish events, and how their webhooks look.

Each product is one entry of a JSON data file (`products.json` beside this module, plus any file
named by `HOOKYARD_CATALOG_FILE`): its route segment, scope, event types with their fields, the
payload shape (`envelope` as Pre-Construction sends it, `flat` as Setups and HeavyJob do) and the
matching rule (`partition`: a field fixed by the subscription's path; `filter`: an optional list
on the subscription, one record per value, matched against a field of the event). Adding a
product is adding an entry; no code path names a product.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from hookyard import errors

PAYLOAD_KINDS = ("envelope", "flat")
MAX_FIELD_LENGTH = 256


@dataclass(frozen=True)
class EventType:
    """One event type of a product and the fields an event of that type carries."""

    name: str
    fields: tuple[str, ...]
    entity_path: str | None = None


@dataclass(frozen=True)
class Filter:
    """An optional per-record filter: `body_field` lists values, one record per value."""

    body_field: str
    record_field: str
    event_field: str


@dataclass(frozen=True)
class Product:
    """A product whose events Hookyard delivers."""

    key: str
    name: str
    tag: str
    operation_prefix: str
    route: str
    scope: str
    event_source: str
    partition: str | None
    filter: Filter | None
    payload: str
    event_types: Mapping[str, EventType] = field(default_factory=dict)

    def event_type(self, name: str) -> EventType:
        """The event type called `name`, or InvalidInput naming the valid ones."""
        try:
            return self.event_types[name]
        except KeyError:
            valid = ", ".join(self.event_types)
            raise errors.InvalidInput.field(
                "eventType", f"{name!r} is not a {self.name} event type; use one of: {valid}"
            ) from None

    def required_fields(self, event_type: str) -> tuple[str, ...]:
        """Every field an event of this type must carry besides `eventType` and `companyId`."""
        names = list(self.event_type(event_type).fields)
        for extra in (self.partition, self.filter.event_field if self.filter else None):
            if extra and extra not in names:
                names.insert(0, extra)
        return tuple(names)

    def build_payload(
        self, event_type: str, company_id: str, values: Mapping[str, str], *, date: str, base: str
    ) -> bytes:
        """The exact body HCSS sends for this event, as compact JSON bytes."""
        spec = self.event_type(event_type)
        if self.payload == "envelope":
            data = {"companyId": company_id}
            data.update({name: values[name] for name in self.required_fields(event_type)})
            entity = spec.entity_path.format(**data) if spec.entity_path else ""
            body: dict[str, Any] = {
                "eventSource": self.event_source,
                "eventType": event_type,
                "entityUrl": base.rstrip("/") + entity if entity else None,
                "version": "1",
                "date": date,
                "data": data,
            }
        else:
            body = {"companyId": company_id, "eventType": event_type}
            body.update({name: values[name] for name in self.required_fields(event_type)})
        return orjson.dumps(body)


@dataclass(frozen=True)
class Catalog:
    """Every product, by key and by route segment."""

    products: Mapping[str, Product]

    def by_route(self, route: str) -> Product:
        for product in self.products.values():
            if product.route == route:
                return product
        raise errors.NotFound(f"There is no product {route!r}; use one of: {self.routes()}")

    def by_scope(self, scope: str) -> list[Product]:
        return [p for p in self.products.values() if p.scope == scope]

    def routes(self) -> str:
        return ", ".join(p.route for p in self.products.values())

    def scopes(self) -> set[str]:
        return {p.scope for p in self.products.values()}


def _product(raw: Mapping[str, Any]) -> Product:
    if raw.get("payload") not in PAYLOAD_KINDS:
        raise ValueError(f"product {raw.get('key')!r}: payload must be one of {PAYLOAD_KINDS}")
    types = {
        name: EventType(name, tuple(spec.get("fields", ())), spec.get("entity_path"))
        for name, spec in raw["event_types"].items()
    }
    flt = raw.get("filter")
    return Product(
        key=raw["key"],
        name=raw["name"],
        tag=raw.get("tag", raw["name"]),
        operation_prefix=raw["operation_prefix"],
        route=raw["route"],
        scope=raw["scope"],
        event_source=raw.get("event_source", raw["name"]),
        partition=raw.get("partition"),
        filter=Filter(**flt) if flt else None,
        payload=raw["payload"],
        event_types=types,
    )


def parse(documents: Iterable[Mapping[str, Any]]) -> Catalog:
    """A catalog from parsed catalog documents; later documents add products."""
    products: dict[str, Product] = {}
    for document in documents:
        for raw in document["products"]:
            product = _product(raw)
            if product.key in products or any(p.route == product.route for p in products.values()):
                raise ValueError(f"product {product.key!r} is defined twice")
            products[product.key] = product
    return Catalog(products)


def load(extra: Path | None = None) -> Catalog:
    """The built-in catalog, plus the products of the file `extra` when given."""
    builtin = resources.files(__package__).joinpath("products.json").read_text("utf-8")
    documents = [json.loads(builtin)]
    if extra is not None:
        documents.append(json.loads(extra.read_text("utf-8")))
    return parse(documents)
