"""What differs between the two databases, asked of one object instead of compared by name.

`Database.dialect_rules` is the `Dialect` of its database; a repository that writes SQL both
databases accept except in one place asks it (`upsert`, `skip_locked`, ...) rather than which
database it is. The delivery queue is the exception by design: it has one module per database
(`hookyard.store.queue`), picked once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url

Upsert = sqlite.Insert | postgresql.Insert
"""An INSERT that takes `on_conflict_do_nothing()` and `on_conflict_do_update(...)`."""


@dataclass(frozen=True)
class Dialect:
    """The rules of one database."""

    name: str
    """SQLAlchemy's name of the database: `sqlite` or `postgresql`."""
    local_file: bool
    """The database is one file on this host, created when first opened: no server to reach,
    no clock but this host's."""
    upsert: Callable[[Table], Upsert]
    """`upsert(table)`: an INSERT into `table` that can say what to do ON CONFLICT."""
    skip_locked: bool
    """Whether `FOR UPDATE SKIP LOCKED` applies: concurrent writers take different rows (on
    SQLite one writer at a time holds the whole file, and the clause does not exist)."""
    vacuums: bool
    """Whether deleted rows' space comes back only through VACUUM (PostgreSQL's dead tuples;
    SQLite reuses freed pages by itself)."""
    walks_big_pages: bool
    """Whether a page of many deliveries is better read walking the primary key than sorted
    (SQLite's planner would sort all of a big client's deliveries for one page)."""


SQLITE = Dialect(
    "sqlite",
    local_file=True,
    upsert=sqlite.insert,
    skip_locked=False,
    vacuums=False,
    walks_big_pages=True,
)
POSTGRESQL = Dialect(
    "postgresql",
    local_file=False,
    upsert=postgresql.insert,
    skip_locked=True,
    vacuums=True,
    walks_big_pages=False,
)


def of(url: str | URL) -> Dialect:
    """The rules of the database at `url` (any URL that is not SQLite's is PostgreSQL's)."""
    parsed = make_url(url) if isinstance(url, str) else url
    return SQLITE if parsed.get_backend_name() == "sqlite" else POSTGRESQL
