"""Helpers for the Webhooks API tests: a tenant with a token, paths, and the stored records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from hookyard import models
from hookyard.cli import runtime as runtimes
from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from tests.support.tenants import Tenant, bearer, make_tenant, token

BASE = "/webhooks/api/v1"
KEY = "c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1sb25nLW9rISE="
TYPES = {
    "precon": ["ProjectCreated", "ProjectChanged"],
    "setups": ["EmployeeCreated", "LocationDeleted"],
    "heavyjob": ["CostCodeCreated", "CostCodeDeleted"],
}


@dataclass(frozen=True)
class Caller:
    """A tenant and the headers of an access token of its client."""

    tenant: Tenant
    headers: dict[str, str]

    @property
    def client_id(self) -> str:
        return self.tenant.client_id

    @property
    def unit(self) -> str:
        return self.tenant.units[0].id

    def path(self, product: str, unit: str | None = None) -> str:
        if product == "precon":
            return f"{BASE}/precon/{unit or self.unit}"
        return f"{BASE}/{product}"


async def caller(api: httpx.AsyncClient, runtime: Runtime, name: str = "Acme Paving") -> Caller:
    tenant = await make_tenant(runtime, name)
    return Caller(tenant, bearer(await token(api, tenant.client_id, tenant.secret)))


async def records(runtime: Runtime, client_id: str) -> list[models.Subscription]:
    """Every record of the client, whatever its status, straight from the store."""
    return await runtime.store.subscriptions.of_client(client_id)


def statuses(found: list[models.Subscription]) -> dict[tuple[str, str | None], str]:
    return {(r.event_type, r.filter_value): r.status.value for r in found}


@asynccontextmanager
async def app_with(
    settings: Settings, **changes: object
) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """The real app in-process with some settings changed, and its runtime."""
    wired = runtimes.build(settings.model_copy(update=changes))
    try:
        transport = httpx.ASGITransport(app=wired.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            yield api, wired
    finally:
        await wired.close()
