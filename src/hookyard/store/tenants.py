"""Companies, business units, partners and their connections, and API clients.

Token checks read a client and a partner connection on every request; `recent_client` and
`recent_connection` answer them from a cache kept `cache_seconds`. A change made through this
repository (revoke, secret rotation, disconnect) drops the cached value when it commits, so it
holds at once in this process; a change made by another process holds within `cache_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import RowMapping

from hookyard import clock, errors, models
from hookyard.store import schema
from hookyard.store.database import Database
from hookyard.ttlcache import TtlCache


def _company(row: RowMapping) -> models.Company:
    return models.Company(row["id"], row["name"], row["date_created"])


def _business_unit(row: RowMapping) -> models.BusinessUnit:
    return models.BusinessUnit(
        row["id"],
        row["company_id"],
        row["code"],
        row["description"],
        row["credentials_id"],
        row["date_created"],
    )


def _partner(row: RowMapping) -> models.Partner:
    return models.Partner(row["id"], row["name"], row["date_created"])


def _client(row: RowMapping) -> models.Client:
    return models.Client(
        id=row["id"],
        name=row["name"],
        company_id=row["company_id"],
        partner_id=row["partner_id"],
        scopes=tuple(row["scopes"].split()),
        business_units=tuple(row["business_units"].split(",")),
        secret_hash=row["secret_hash"],
        date_created=row["date_created"],
        revoked_at=row["revoked_at"],
    )


def _client_values(client: models.Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "name": client.name,
        "company_id": client.company_id,
        "partner_id": client.partner_id,
        "scopes": " ".join(client.scopes),
        "business_units": ",".join(client.business_units),
        "secret_hash": client.secret_hash,
        "date_created": client.date_created,
        "revoked_at": client.revoked_at,
    }


class TenantRepository:
    """Queries over companies, business units, partners and clients."""

    def __init__(
        self,
        db: Database,
        *,
        cache_seconds: float = 0.0,
        monotonic: clock.Monotonic = time.monotonic,
    ) -> None:
        self._db = db
        self._clients: TtlCache[str, models.Client | None] = TtlCache(
            cache_seconds, monotonic=monotonic
        )
        self._connections: TtlCache[tuple[str, str], bool] = TtlCache(
            cache_seconds, monotonic=monotonic
        )

    async def _one(self, statement: Any) -> RowMapping | None:
        async with self._db.read() as connection:
            result = await connection.execute(statement)
            return result.mappings().first()

    async def _all(self, statement: Any) -> Sequence[RowMapping]:
        async with self._db.read() as connection:
            result = await connection.execute(statement)
            return result.mappings().all()

    async def _insert(self, table: Any, values: dict[str, Any]) -> None:
        async with self._db.write() as connection:
            await connection.execute(insert(table).values(**values))

    # companies

    async def add_company(self, company: models.Company) -> None:
        await self._insert(
            schema.companies,
            {"id": company.id, "name": company.name, "date_created": company.date_created},
        )

    async def company(self, company_id: str) -> models.Company | None:
        row = await self._one(select(schema.companies).where(schema.companies.c.id == company_id))
        return _company(row) if row else None

    async def company_by_name(self, name: str) -> models.Company | None:
        row = await self._one(select(schema.companies).where(schema.companies.c.name == name))
        return _company(row) if row else None

    async def companies(self) -> list[models.Company]:
        rows = await self._all(select(schema.companies).order_by(schema.companies.c.date_created))
        return [_company(row) for row in rows]

    # business units

    async def add_business_unit(self, unit: models.BusinessUnit) -> None:
        await self._insert(
            schema.business_units,
            {
                "id": unit.id,
                "company_id": unit.company_id,
                "code": unit.code,
                "description": unit.description,
                "credentials_id": unit.credentials_id,
                "date_created": unit.date_created,
            },
        )

    async def business_unit(self, unit_id: str) -> models.BusinessUnit | None:
        table = schema.business_units
        row = await self._one(select(table).where(table.c.id == unit_id))
        return _business_unit(row) if row else None

    async def business_unit_by_code(self, company_id: str, code: str) -> models.BusinessUnit | None:
        table = schema.business_units
        statement = select(table).where(
            and_(table.c.company_id == company_id, table.c.code == code)
        )
        row = await self._one(statement)
        return _business_unit(row) if row else None

    async def business_units(
        self,
        company_id: str,
        only: Sequence[str] | None = None,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int | None = None,
    ) -> list[models.BusinessUnit]:
        """A company's units in creation order, optionally only `only`, after a page cursor."""
        table = schema.business_units
        statement = select(table).where(table.c.company_id == company_id)
        if only is not None:
            statement = statement.where(table.c.id.in_(list(only)))
        if after is not None:
            created, unit_id = after
            statement = statement.where(
                (table.c.date_created > created)
                | and_(table.c.date_created == created, table.c.id > unit_id)
            )
        statement = statement.order_by(table.c.date_created, table.c.id)
        if limit is not None:
            statement = statement.limit(limit)
        return [_business_unit(row) for row in await self._all(statement)]

    # partners

    async def add_partner(self, partner: models.Partner) -> None:
        values = {"id": partner.id, "name": partner.name, "date_created": partner.date_created}
        await self._insert(schema.partners, values)

    async def partner(self, partner_id: str) -> models.Partner | None:
        row = await self._one(select(schema.partners).where(schema.partners.c.id == partner_id))
        return _partner(row) if row else None

    async def partners(self) -> list[tuple[models.Partner, list[str]]]:
        """Every partner, oldest first, with the companies connected to it now."""
        rows = await self._all(select(schema.partners).order_by(schema.partners.c.date_created))
        table = schema.partner_connections
        links = await self._all(
            select(table.c.partner_id, table.c.company_id)
            .where(table.c.connected.is_(True))
            .order_by(table.c.company_id)
        )
        connected: dict[str, list[str]] = {}
        for link in links:
            connected.setdefault(link["partner_id"], []).append(link["company_id"])
        return [(_partner(row), connected.get(row["id"], [])) for row in rows]

    async def set_connection(
        self, partner_id: str, company_id: str, connected: bool, at: datetime
    ) -> bool:
        """Connect or disconnect; True when the state changed."""
        try:
            return await self._set_connection(partner_id, company_id, connected, at)
        finally:
            self._connections.forget((partner_id, company_id))

    async def _set_connection(
        self, partner_id: str, company_id: str, connected: bool, at: datetime
    ) -> bool:
        table = schema.partner_connections
        key = and_(table.c.partner_id == partner_id, table.c.company_id == company_id)
        async with self._db.write() as connection:
            current = (await connection.execute(select(table.c.connected).where(key))).first()
            if current is None:
                values = {"partner_id": partner_id, "company_id": company_id}
                await connection.execute(
                    insert(table).values(**values, connected=connected, changed_at=at)
                )
                return connected
            if bool(current[0]) == connected:
                return False
            await connection.execute(
                update(table).where(key).values(connected=connected, changed_at=at)
            )
            return True

    async def is_connected(self, partner_id: str, company_id: str) -> bool:
        table = schema.partner_connections
        statement = select(table.c.connected).where(
            and_(table.c.partner_id == partner_id, table.c.company_id == company_id)
        )
        row = await self._one(statement)
        return bool(row and row["connected"])

    async def connected_companies(self, partner_id: str) -> list[str]:
        """The companies connected to the partner now (read afresh, never cached)."""
        table = schema.partner_connections
        statement = (
            select(table.c.company_id)
            .where(table.c.partner_id == partner_id, table.c.connected.is_(True))
            .order_by(table.c.company_id)
        )
        return [row["company_id"] for row in await self._all(statement)]

    async def recent_connection(self, partner_id: str, company_id: str) -> bool:
        """`is_connected`, as read at most `cache_seconds` ago (see the module docstring)."""
        return await self._connections.fetch(
            (partner_id, company_id), lambda: self.is_connected(partner_id, company_id)
        )

    # clients

    async def add_client(self, client: models.Client) -> None:
        try:
            await self._insert(schema.clients, _client_values(client))
        finally:
            self._clients.forget(client.id)

    async def client(self, client_id: str) -> models.Client | None:
        row = await self._one(select(schema.clients).where(schema.clients.c.id == client_id))
        return _client(row) if row else None

    async def recent_client(self, client_id: str) -> models.Client | None:
        """`client`, as read at most `cache_seconds` ago (see the module docstring): for token
        checks, not for checking a secret."""
        return await self._clients.fetch(client_id, lambda: self.client(client_id))

    async def clients(self, company_id: str | None = None) -> list[models.Client]:
        statement = select(schema.clients).order_by(schema.clients.c.date_created)
        if company_id is not None:
            statement = statement.where(schema.clients.c.company_id == company_id)
        return [_client(row) for row in await self._all(statement)]

    async def update_client(self, client_id: str, **values: Any) -> None:
        """Set columns of one client; NotFound when there is no such client."""
        table = schema.clients
        try:
            async with self._db.write() as connection:
                result = await connection.execute(
                    update(table).where(table.c.id == client_id).values(**values)
                )
                if result.rowcount == 0:
                    raise errors.NotFound(f"There is no client {client_id!r}; see `clients list`.")
        finally:
            self._clients.forget(client_id)

    async def count_companies(self) -> int:
        async with self._db.read() as connection:
            result = await connection.execute(select(func.count()).select_from(schema.companies))
            return int(result.scalar_one())
