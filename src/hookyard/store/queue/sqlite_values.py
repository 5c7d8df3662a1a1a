"""Values on the SQLite queue's statements, and SQLite's clock.

Datetimes are stored as the SQLAlchemy `UTCDateTime` columns store them (naive UTC text with
microseconds), so the hot path and the SQLAlchemy repositories read each other's rows. A list of
ids goes as one JSON array parameter, read with `json_each`.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson

DATABASE_NOW = "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"


@functools.lru_cache(maxsize=256)
def stamp(value: datetime) -> str:
    """A UTC-aware datetime as `UTCDateTime` stores it on SQLite. (Cached: an ingest's rows
    share one time, four times in each delivery row.)"""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def read_stamp(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def id_list(values: Sequence[str]) -> str:
    return orjson.dumps(list(values)).decode()


def stamped(row: tuple[object, ...]) -> tuple[object, ...]:
    """`row` with its datetimes stamped."""
    return tuple(stamp(v) if isinstance(v, datetime) else v for v in row)


def database_now(connection: sqlite3.Connection) -> datetime:
    """SQLite's clock, read once for the transaction."""
    return datetime.fromisoformat(connection.execute(DATABASE_NOW).fetchone()[0]).replace(
        tzinfo=UTC
    )
