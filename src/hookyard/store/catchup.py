"""Reading a callback url's deliveries by sequence number, for gap-free catch-up.

Every delivery to one (client, callback url) gets the next number of that pair at ingest
(`callback_sequences`); this reads them back in order, with the exact body each carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from hookyard.store import schema
from hookyard.store.database import Database
from hookyard.store.sealing import Sealer

D = schema.deliveries
S = schema.subscriptions
E = schema.events


@dataclass(frozen=True)
class Sequenced:
    """One delivery of a url, as it is sent: its number, ids, event type and exact body."""

    sequence: int
    delivery_id: str
    event_id: str
    event_type: str
    body: bytes


class CatchUpRepository:
    """The numbered deliveries of one client's callback url."""

    def __init__(self, db: Database, sealer: Sealer) -> None:
        self._db = db
        self._sealer = sealer

    async def secret_keys(
        self, client_id: str, url: str, now: int, companies: tuple[str, ...] | None = None
    ) -> list[str] | None:
        """The keys that sign the url's deliveries at unix time `now` (the current one, then a
        replaced one while it still overlaps), or None when the client has no record of it (in
        `companies`, when named)."""
        statement = (
            select(S.c.id, S.c.secret_key, S.c.previous_secret_key, S.c.previous_secret_until)
            .where(S.c.client_id == client_id, S.c.callback_url == url, *_in(companies))
            .order_by(S.c.status_changed_at.desc())
            .limit(1)
        )
        async with self._db.read() as connection:
            row = (await connection.execute(statement)).first()
        if row is None:
            return None
        keys = [self._sealer.unseal(row.secret_key, row.id)]
        until = row.previous_secret_until
        if row.previous_secret_key is not None and until is not None and until.timestamp() > now:
            keys.append(self._sealer.unseal(row.previous_secret_key, row.id))
        return keys

    async def after(
        self,
        client_id: str,
        url: str,
        after: int,
        limit: int,
        companies: tuple[str, ...] | None = None,
    ) -> list[Sequenced]:
        """Up to `limit` deliveries of the url numbered above `after`, in order (of records in
        `companies` only, when named)."""
        statement = (
            select(D.c.sequence, D.c.id, D.c.event_id, E.c.event_type, E.c.body)
            .select_from(D.join(S, S.c.id == D.c.subscription_id).join(E, E.c.id == D.c.event_id))
            .where(S.c.client_id == client_id, S.c.callback_url == url, D.c.sequence > after)
            .where(*_in(companies))
            .order_by(D.c.sequence)
            .limit(limit)
        )
        async with self._db.read() as connection:
            rows = (await connection.execute(statement)).all()
        return [Sequenced(int(r[0]), r[1], r[2], r[3], bytes(r[4])) for r in rows]


def _in(companies: tuple[str, ...] | None) -> list[Any]:
    return [] if companies is None else [S.c.company_id.in_(companies)]
