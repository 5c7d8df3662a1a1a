"""Credentials management, as HCSS Credentials offers it: companies, business units, API
clients (scopes, business-unit access, secrets shown once), partners and their connections."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from hookyard import clock, errors, ids, models
from hookyard.services import identity
from hookyard.store import Store

MAX_NAME = 200
MAX_CODE = 64
MAX_DESCRIPTION = 500

ConnectionHook = Callable[[str, str, bool], Awaitable[None]]


@dataclass(frozen=True)
class IssuedClient:
    """A client and its secret, which is shown this once and stored only as a hash."""

    client: models.Client
    secret: str


def _text(name: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise errors.InvalidInput.field(name, "must not be empty")
    if len(value) > limit:
        raise errors.InvalidInput.field(name, f"must be at most {limit} characters")
    return value


class Credentials:
    """The operator's use cases over tenants and clients."""

    def __init__(self, store: Store, known_scopes: Sequence[str]) -> None:
        self._store = store
        self.known_scopes = tuple(known_scopes)
        self._connection_hooks: list[ConnectionHook] = []

    def on_connection_change(self, hook: ConnectionHook) -> None:
        """Call `hook(partner_id, company_id, connected)` after a partner (dis)connects."""
        self._connection_hooks.append(hook)

    async def create_company(self, name: str) -> models.Company:
        company = models.Company(ids.guid(), _text("name", name, MAX_NAME), clock.utcnow())
        await self._store.tenants.add_company(company)
        return company

    async def company(self, company_id: str) -> models.Company:
        company = await self._store.tenants.company(company_id)
        if company is None:
            raise errors.NotFound(f"There is no company {company_id!r}; see `companies list`.")
        return company

    async def create_business_unit(
        self, company_id: str, code: str, description: str = ""
    ) -> models.BusinessUnit:
        await self.company(company_id)
        code = _text("code", code, MAX_CODE)
        if await self._store.tenants.business_unit_by_code(company_id, code):
            raise errors.Conflict(f"Company {company_id} already has a business unit {code!r}.")
        if len(description) > MAX_DESCRIPTION:
            raise errors.InvalidInput.field(
                "description", f"must be at most {MAX_DESCRIPTION} characters"
            )
        unit = models.BusinessUnit(
            ids.guid(), company_id, code, description or code, ids.guid(), clock.utcnow()
        )
        await self._store.tenants.add_business_unit(unit)
        return unit

    async def create_partner(self, name: str) -> models.Partner:
        partner = models.Partner(
            ids.prefixed(ids.PARTNER), _text("name", name, MAX_NAME), clock.utcnow()
        )
        await self._store.tenants.add_partner(partner)
        return partner

    async def partners(self) -> list[tuple[models.Partner, list[str]]]:
        """Every partner with the ids of the companies connected to it now."""
        return await self._store.tenants.partners()

    async def set_connection(self, partner_id: str, company_id: str, connected: bool) -> bool:
        """Connect or disconnect a company and a partner's app; True when it changed.

        A disconnect ends the console sessions of the partner's clients (even when it was
        disconnected already), so they sign in again to what their remaining connections allow.
        """
        if await self._store.tenants.partner(partner_id) is None:
            raise errors.NotFound(f"There is no partner {partner_id!r}.")
        await self.company(company_id)
        changed = await self._store.tenants.set_connection(
            partner_id, company_id, connected, clock.utcnow()
        )
        if not connected:
            await self._store.sessions.remove_for_partner(partner_id)
        if changed:
            for hook in self._connection_hooks:
                await hook(partner_id, company_id, connected)
        return changed

    async def create_client(
        self,
        *,
        scopes: Sequence[str],
        company_id: str | None = None,
        partner_id: str | None = None,
        business_units: Sequence[str] = (models.ALL_BUSINESS_UNITS,),
        name: str = "",
    ) -> IssuedClient:
        """A new API client; exactly one of `company_id` and `partner_id`."""
        if company_id is None and partner_id is None:
            raise errors.InvalidInput(
                "Give the client one of a company (--company) or a partner (--partner)."
            )
        if company_id is not None and partner_id is not None:
            raise errors.InvalidInput(
                "Give the client a company (--company) or a partner (--partner), not both."
            )
        checked_scopes = self._check_scopes(scopes)
        units = await self._check_units(company_id, business_units)
        if partner_id is not None and await self._store.tenants.partner(partner_id) is None:
            raise errors.NotFound(f"There is no partner {partner_id!r}.")
        secret = identity.new_secret()
        client = models.Client(
            id=ids.prefixed(ids.CLIENT).lower(),
            name=_text("name", name, MAX_NAME) if name else "API client",
            company_id=company_id,
            partner_id=partner_id,
            scopes=checked_scopes,
            business_units=units,
            secret_hash=await asyncio.to_thread(identity.hash_secret, secret),
            date_created=clock.utcnow(),
            revoked_at=None,
        )
        await self._store.tenants.add_client(client)
        return IssuedClient(client, secret)

    def _check_scopes(self, scopes: Sequence[str]) -> tuple[str, ...]:
        unique = tuple(dict.fromkeys(scope for scope in scopes if scope))
        if not unique:
            raise errors.InvalidInput.field("scopes", "give at least one scope")
        unknown = [scope for scope in unique if scope not in self.known_scopes]
        if unknown:
            raise errors.InvalidInput.field(
                "scopes",
                f"unknown scope {' '.join(unknown)}; use: {' '.join(self.known_scopes)}",
            )
        return unique

    async def _check_units(self, company_id: str | None, units: Sequence[str]) -> tuple[str, ...]:
        if company_id is not None:
            await self.company(company_id)
        if not units or models.ALL_BUSINESS_UNITS in units:
            return (models.ALL_BUSINESS_UNITS,)
        if company_id is None:
            raise errors.InvalidInput.field("business_units", "a partner client gets all units")
        for unit_id in units:
            unit = await self._store.tenants.business_unit(unit_id)
            if unit is None or unit.company_id != company_id:
                raise errors.InvalidInput.field(
                    "business_units", f"{unit_id!r} is not a business unit of company {company_id}"
                )
        return tuple(dict.fromkeys(units))

    async def client(self, client_id: str) -> models.Client:
        client = await self._store.tenants.client(client_id)
        if client is None:
            raise errors.NotFound(f"There is no client {client_id!r}; see `clients list`.")
        return client

    async def rotate_secret(self, client_id: str) -> IssuedClient:
        """A new secret for the client; the old one stops working at once, and so do the
        client's console sessions and the tokens issued before (see `identity`)."""
        client = await self.client(client_id)
        if client.revoked_at is not None:
            raise errors.Conflict(f"Client {client_id} is revoked; create a new client instead.")
        secret = identity.new_secret()
        secret_hash = await asyncio.to_thread(identity.hash_secret, secret)
        await self._store.tenants.update_client(client_id, secret_hash=secret_hash)
        await self._store.sessions.remove_for_client(client_id)
        return IssuedClient(await self.client(client_id), secret)

    async def revoke(self, client_id: str) -> models.Client:
        """Revoke a client: its secret, every token it holds and its console sessions stop
        working at once."""
        client = await self.client(client_id)
        if client.revoked_at is None:
            await self._store.tenants.update_client(client_id, revoked_at=clock.utcnow())
        await self._store.sessions.remove_for_client(client_id)
        return await self.client(client_id)

    async def clients(self, company_id: str | None = None) -> list[models.Client]:
        return await self._store.tenants.clients(company_id)
