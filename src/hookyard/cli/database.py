"""The database as commands meet it: migrated on start, its problems one `error:` line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hookyard import errors
from hookyard.cli import failures, options
from hookyard.config import Settings

if TYPE_CHECKING:
    from hookyard.store.migrate import Upgrade


def migrate(settings: Settings) -> Upgrade:
    """Bring the schema up to date; an unusable database ends the command with one line."""
    from hookyard.store import migrate as migrations

    try:
        return migrations.upgrade_sync(settings.database_url)
    except errors.Unavailable as exc:
        if failures.debug:
            raise
        options.fail(exc.detail, 1)
