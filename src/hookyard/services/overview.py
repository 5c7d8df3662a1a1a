"""The operator's overview: every company with its business units and clients, every partner,
and the delivery queue per callback host."""

from __future__ import annotations

from dataclasses import dataclass

from hookyard import models
from hookyard.services.access import Access, Actor
from hookyard.store import Store
from hookyard.store.overview import HostQueue


@dataclass(frozen=True)
class CompanyView:
    """A company, its business units and its clients."""

    company: models.Company
    units: list[models.BusinessUnit]
    clients: list[models.Client]


@dataclass(frozen=True)
class Tenants:
    """Every company (with units and clients), every partner and its clients."""

    companies: list[CompanyView]
    partners: list[models.Partner]
    partner_clients: list[models.Client]


class Overview:
    """Read-only views across tenants."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def tenants(self, actor: Actor) -> Tenants:
        """Every tenant; for the operator only."""
        Access.operator(actor, "The list of tenants")
        clients = await self._store.tenants.clients()
        companies = [
            CompanyView(
                company,
                await self._store.tenants.business_units(company.id),
                [client for client in clients if client.company_id == company.id],
            )
            for company in await self._store.tenants.companies()
        ]
        partner_clients = [client for client in clients if client.partner_id is not None]
        return Tenants(companies, await self._store.overview.partners(), partner_clients)

    async def queue(self, actor: Actor) -> list[HostQueue]:
        """Pending and in-flight deliveries per host, the fullest first (at most 50 hosts); for
        the operator only."""
        Access.operator(actor, "The delivery queue of every host")
        return await self._store.overview.queue_by_host()
