"""Console sessions: one row per signed-in browser, keyed by the hash of its cookie's token.

Only the SHA-256 of the session token is stored, so a copy of the database signs no one in. Any
API process sharing the database sees every session (several `hookyard api` processes behind a
load balancer need no sticky sessions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select

from hookyard.store import schema
from hookyard.store.database import Database

table = schema.console_sessions


@dataclass(frozen=True)
class SessionRow:
    """A stored session: whose, its CSRF token, and when it ends."""

    token_hash: str
    client_id: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class SessionRepository:
    """Queries over console sessions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, row: SessionRow) -> None:
        values = {
            "token_hash": row.token_hash,
            "client_id": row.client_id,
            "csrf_token": row.csrf_token,
            "created_at": row.created_at,
            "expires_at": row.expires_at,
        }
        async with self._db.write() as connection:
            await connection.execute(insert(table).values(**values))

    async def get(self, token_hash: str) -> SessionRow | None:
        async with self._db.read() as connection:
            result = await connection.execute(select(table).where(table.c.token_hash == token_hash))
            row = result.mappings().first()
        if row is None:
            return None
        return SessionRow(
            row["token_hash"],
            row["client_id"],
            row["csrf_token"],
            row["created_at"],
            row["expires_at"],
        )

    async def remove(self, token_hash: str) -> None:
        async with self._db.write() as connection:
            await connection.execute(delete(table).where(table.c.token_hash == token_hash))

    async def remove_for_client(self, client_id: str) -> int:
        """Delete every session of the client; how many."""
        async with self._db.write() as connection:
            result = await connection.execute(delete(table).where(table.c.client_id == client_id))
            return int(result.rowcount or 0)

    async def remove_for_partner(self, partner_id: str) -> int:
        """Delete every session of the partner's clients; how many."""
        clients = select(schema.clients.c.id).where(schema.clients.c.partner_id == partner_id)
        async with self._db.write() as connection:
            result = await connection.execute(delete(table).where(table.c.client_id.in_(clients)))
            return int(result.rowcount or 0)

    async def remove_expired(self, now: datetime) -> int:
        """Delete the sessions that ended before `now`; how many."""
        async with self._db.write() as connection:
            result = await connection.execute(delete(table).where(table.c.expires_at < now))
            return int(result.rowcount or 0)
