"""Apply Alembic migrations: `hookyard migrate`, and `serve` on start."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from hookyard.store.database import async_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for the database at `url`, with no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def upgrade_sync(url: str) -> None:
    """Bring the database at `url` to the newest schema (call outside an event loop)."""
    database = make_url(async_url(url)).database
    if make_url(async_url(url)).get_backend_name() == "sqlite" and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


@functools.cache
def heads() -> frozenset[str]:
    """The newest revisions the code knows (read once from the migration scripts)."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def upgrade(url: str) -> None:
    """`upgrade_sync` from inside a running event loop."""
    await asyncio.to_thread(upgrade_sync, url)
