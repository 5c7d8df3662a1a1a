"""Values on the PostgreSQL queue's statements: the `timestamp` columns hold naive UTC."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


def stamp(value: datetime) -> datetime:
    """A UTC-aware datetime as the `timestamp` columns hold it (naive UTC)."""
    return value.astimezone(UTC).replace(tzinfo=None)


def read_stamp(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[Any]]:
    """`rows` as `width` columns (one array parameter each), datetimes stamped."""
    found: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(found, row, strict=True):
            column.append(stamp(value) if isinstance(value, datetime) else value)
    return found
