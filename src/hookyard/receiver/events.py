"""Typed events: a delivered payload parsed into the shape its product sends.

    Event                 every event: `event_type`, `company_id`, the raw `payload`, `webhook_id`
    ├── PreConEvent       HeavyBid Pre-Construction envelope (`eventSource`, `data`: project/schema)
    ├── SetupsEvent       Setups flat payload (`businessUnitId`, `id`)
    ├── HeavyJobEvent     HeavyJob flat payload (`jobId`, `costCodeId`)
    └── GenericEvent      any other shape, e.g. a product added to the catalog later

Parsing never fails on an unfamiliar shape: it falls back to `GenericEvent`, whose `fields` hold
the payload's values (the envelope's `data` merged in).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from hookyard import errors

PRECON_SOURCE = "HeavyBid Pre-Construction"
SETUPS_EVENT_TYPES = frozenset(
    f"{entity}{change}"
    for entity in ("BusinessUnit", "Employee", "Equipment", "Location")
    for change in ("Created", "Updated", "Deleted")
)
HEAVYJOB_EVENT_TYPES = frozenset(
    f"CostCode{change}" for change in ("Created", "Updated", "Deleted")
)


@dataclass(frozen=True, kw_only=True)
class Event:
    """One delivered event. `webhook_id` is the same on every retry: dedupe on it."""

    product: ClassVar[str] = ""
    event_type: str
    company_id: str
    payload: Mapping[str, Any] = field(repr=False)
    webhook_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class PreConEvent(Event):
    """A HeavyBid Pre-Construction event: a project created, changed or deleted, or a schema."""

    product: ClassVar[str] = "precon"
    event_source: str
    entity_url: str
    version: str
    date: str
    business_unit_id: str
    project_id: str | None = None
    schema_id: str | None = None

    @property
    def occurred_at(self) -> datetime:
        """`date` as a timezone-aware datetime."""
        return datetime.fromisoformat(self.date)


@dataclass(frozen=True, kw_only=True)
class SetupsEvent(Event):
    """A Setups event: a business unit, employee, equipment or location created/updated/deleted."""

    product: ClassVar[str] = "setups"
    business_unit_id: str
    id: str


@dataclass(frozen=True, kw_only=True)
class HeavyJobEvent(Event):
    """A HeavyJob event: a cost code of a job created, updated or deleted."""

    product: ClassVar[str] = "heavyjob"
    job_id: str
    cost_code_id: str


@dataclass(frozen=True, kw_only=True)
class GenericEvent(Event):
    """An event of a shape this toolkit does not know; `fields` holds its values."""

    product: ClassVar[str] = "unknown"
    event_source: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


def loads(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or InvalidInput saying what is wrong with it."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise errors.InvalidInput(
            f"the webhook body is not JSON ({exc}); the sender must send application/json"
        ) from exc
    if not isinstance(payload, dict):
        raise errors.InvalidInput(
            f"the webhook body is a JSON {type(payload).__name__}, not an object;"
            " the sender must send a JSON object"
        )
    return payload


def parse_event(payload: Mapping[str, Any], webhook_id: str | None = None) -> Event:
    """The typed event for a parsed payload; `GenericEvent` for any shape not recognised."""
    for parser in (_precon, _setups, _heavyjob):
        event = parser(payload, webhook_id)
        if event is not None:
            return event
    return _generic(payload, webhook_id)


def _text(mapping: Mapping[str, Any], *names: str) -> list[str] | None:
    values = [mapping.get(name) for name in names]
    if all(isinstance(value, str) for value in values):
        return [str(value) for value in values]
    return None


def _data(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    data = payload.get("data")
    return data if isinstance(data, Mapping) else {}


def _precon(payload: Mapping[str, Any], webhook_id: str | None) -> Event | None:
    data = _data(payload)
    head = _text(payload, "eventSource", "eventType", "entityUrl", "version", "date")
    body = _text(data, "companyId", "businessUnitId")
    if head is None or body is None or head[0] != PRECON_SOURCE:
        return None
    project, schema = data.get("projectId"), data.get("schemaId")
    if not isinstance(project, str) and not isinstance(schema, str):
        return None
    source, event_type, entity_url, version, date = head
    return PreConEvent(
        event_type=event_type,
        company_id=body[0],
        payload=payload,
        webhook_id=webhook_id,
        event_source=source,
        entity_url=entity_url,
        version=version,
        date=date,
        business_unit_id=body[1],
        project_id=project if isinstance(project, str) else None,
        schema_id=schema if isinstance(schema, str) else None,
    )


def _setups(payload: Mapping[str, Any], webhook_id: str | None) -> Event | None:
    values = _text(payload, "eventType", "companyId", "businessUnitId", "id")
    if values is None or values[0] not in SETUPS_EVENT_TYPES:
        return None
    event_type, company_id, business_unit_id, record_id = values
    return SetupsEvent(
        event_type=event_type,
        company_id=company_id,
        payload=payload,
        webhook_id=webhook_id,
        business_unit_id=business_unit_id,
        id=record_id,
    )


def _heavyjob(payload: Mapping[str, Any], webhook_id: str | None) -> Event | None:
    values = _text(payload, "eventType", "companyId", "jobId", "costCodeId")
    if values is None or values[0] not in HEAVYJOB_EVENT_TYPES:
        return None
    event_type, company_id, job_id, cost_code_id = values
    return HeavyJobEvent(
        event_type=event_type,
        company_id=company_id,
        payload=payload,
        webhook_id=webhook_id,
        job_id=job_id,
        cost_code_id=cost_code_id,
    )


def _generic(payload: Mapping[str, Any], webhook_id: str | None) -> Event:
    fields = {**{k: v for k, v in payload.items() if k != "data"}, **_data(payload)}
    event_type, company_id, source = (
        fields.get("eventType"),
        fields.get("companyId"),
        fields.get("eventSource"),
    )
    return GenericEvent(
        event_type=event_type if isinstance(event_type, str) else "",
        company_id=company_id if isinstance(company_id, str) else "",
        payload=payload,
        webhook_id=webhook_id,
        event_source=source if isinstance(source, str) else None,
        fields=fields,
    )
