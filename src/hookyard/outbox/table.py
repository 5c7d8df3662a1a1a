"""The outbox table in the producer's own database: its DDL for each dialect and the row a
write puts in it.

The table is the product back end's, not Hookyard's: it lives next to the product's data so an
event is written in the same transaction as the change it announces. Its default name is
`hookyard_outbox`; the relay creates it when it is missing, and `hookyard outbox ddl` prints the
statements for a migration of your own.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Dialect = Literal["postgresql", "sqlite"]
DEFAULT_TABLE = "hookyard_outbox"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_PRODUCT = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
MAX_AGGREGATE = 200
MAX_KEY = 200

_COLUMNS_SQLITE = """
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    aggregate TEXT NOT NULL,
    product TEXT NOT NULL,
    event TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    published_at TIMESTAMP,
    event_id TEXT,
    refused_reason TEXT"""

_COLUMNS_POSTGRESQL = """
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    aggregate TEXT NOT NULL,
    product TEXT NOT NULL,
    event TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
    published_at TIMESTAMPTZ,
    event_id TEXT,
    refused_reason TEXT"""


def table_name(name: str) -> str:
    """`name` if it is a plain SQL identifier; ValueError otherwise (it is put into SQL)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"outbox table name {name!r}: use letters, digits and _ (at most 63)")
    return name


def ddl(dialect: Dialect, table: str = DEFAULT_TABLE) -> list[str]:
    """The statements that create the outbox table and its index of rows still to relay."""
    table = table_name(table)
    columns = _COLUMNS_POSTGRESQL if dialect == "postgresql" else _COLUMNS_SQLITE
    return [
        f"CREATE TABLE IF NOT EXISTS {table} ({columns}\n)",
        f"CREATE INDEX IF NOT EXISTS {table}_pending ON {table} (id) "
        "WHERE published_at IS NULL AND refused_reason IS NULL",
    ]


@dataclass(frozen=True)
class Row:
    """One outbox row as a write inserts it."""

    aggregate: str
    product: str
    event: str
    idempotency_key: str

    def values(self) -> tuple[str, str, str, str]:
        return (self.aggregate, self.product, self.event, self.idempotency_key)

    def named(self) -> dict[str, str]:
        return {
            "aggregate": self.aggregate,
            "product": self.product,
            "event": self.event,
            "idempotency_key": self.idempotency_key,
        }


def row(
    product: str,
    event: Mapping[str, Any],
    *,
    aggregate: str | None = None,
    idempotency_key: str | None = None,
) -> Row:
    """The row for one event; ValueError naming what is wrong, before anything is written."""
    if not isinstance(product, str) or not _PRODUCT.fullmatch(product):
        raise ValueError(f"product {product!r}: give a catalog route segment, e.g. 'precon'")
    if not isinstance(event, Mapping) or not isinstance(event.get("eventType"), str):
        raise ValueError("event: give a mapping with an 'eventType' string")
    key = idempotency_key if idempotency_key is not None else f"outbox-{uuid.uuid4()}"
    _bounded("idempotency_key", key, MAX_KEY)
    group = aggregate if aggregate is not None else str(event.get("companyId", ""))
    _bounded("aggregate", group, MAX_AGGREGATE, empty_ok=True)
    try:
        body = json.dumps(dict(event), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"event: it must be JSON ({exc})") from exc
    return Row(group, product, body, key)


def _bounded(name: str, value: object, limit: int, *, empty_ok: bool = False) -> None:
    if not isinstance(value, str) or len(value) > limit or (not value and not empty_ok):
        raise ValueError(f"{name}: give a string of {'0' if empty_ok else '1'}-{limit} characters")


def insert_sql(table: str, placeholders: tuple[str, str, str, str]) -> str:
    """The INSERT with the driver's placeholders for aggregate, product, event, key."""
    columns = "aggregate, product, event, idempotency_key"
    values = ", ".join(placeholders)
    return f"INSERT INTO {table_name(table)} ({columns}) VALUES ({values})"  # noqa: S608 - checked name
