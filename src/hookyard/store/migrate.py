"""Apply Alembic migrations: `hookyard migrate`, and `serve` on start.

Driver errors (refused connection, unknown database, bad password, unreadable file, unknown
URL scheme) become one `errors.Unavailable` that names the database and what to check.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from hookyard import errors
from hookyard.store import dialect
from hookyard.store.database import async_url

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Upgrade:
    """The schema revision before and after an upgrade (`None`: no schema)."""

    before: str | None
    after: str | None

    @property
    def created(self) -> bool:
        return self.before is None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config(url: str) -> Config:
    """An Alembic config for the database at `url`, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def shown(url: str) -> str:
    """The database URL with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def _unavailable(url: str, exc: BaseException) -> errors.Unavailable:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return errors.Unavailable(
        f"cannot use the database at {shown(url)}: {reason}; check HOOKYARD_DATABASE_URL "
        "and that the database server is running and reachable"
    )


def _heads(revisions: object) -> str | None:
    if isinstance(revisions, tuple | list):
        return ",".join(str(r) for r in revisions) or None
    return None


def upgrade_sync(url: str) -> Upgrade:
    """Bring the database at `url` to the newest schema (call outside an event loop)."""
    try:
        parsed = make_url(async_url(url))
        if dialect.of(parsed).local_file and parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        config = alembic_config(url)
        command.upgrade(config, "head")
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise errors.Unavailable(
            f"HOOKYARD_DATABASE_URL is not a database URL Hookyard can use ({exc}); use "
            "postgresql://user@host/name or sqlite:///path/to/file.db"
        ) from exc
    except (DBAPIError, OSError) as exc:
        raise _unavailable(url, exc) from exc
    return Upgrade(_heads(config.attributes.get("before")), _heads(config.attributes.get("after")))


@functools.cache
def heads() -> frozenset[str]:
    """The newest revisions the code knows (read once from the migration scripts)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def upgrade(url: str) -> Upgrade:
    """`upgrade_sync` from inside a running event loop."""
    return await asyncio.to_thread(upgrade_sync, url)


def current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions the database at `connection` is at (none before the first migration)."""
    return tuple(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> tuple[str, ...]:
    """The revisions this Hookyard's migrations end at."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return tuple(ScriptDirectory.from_config(config).get_heads())
