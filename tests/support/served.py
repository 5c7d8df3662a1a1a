"""Set-up shared by tests that run Hookyard as processes: a subscribed tenant and the process
environment pointing at the test's database and data directory."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from hookyard import signing
from hookyard.cli.runtime import Runtime
from tests.support import tenancy
from tests.support.receiver import Receiver
from tests.support.tenants import Tenant, bearer, make_tenant, token


@dataclass(frozen=True)
class Subscribed:
    """A tenant whose client has `receiver` subscribed to ProjectCreated of its first unit."""

    tenant: Tenant
    unit: str
    secret: str


async def subscribed_tenant(runtime: Runtime, receiver: Receiver) -> Subscribed:
    tenant = await make_tenant(runtime)
    secret = signing.generate_secret()
    unit = tenant.units[0].id
    owner = tenancy.Tenant(tenant.company.id, tenant.client_id)
    await tenancy.subscribe(
        runtime.store,
        owner,
        "precon",
        "ProjectCreated",
        receiver.url(),
        partition=unit,
        secret=secret,
    )
    return Subscribed(tenant, unit, secret)


def environment(runtime: Runtime, database_url: str, **extra: str) -> dict[str, str]:
    """`HOOKYARD_*` for a process sharing the test's database, keys and loopback allowance."""
    return {
        "HOOKYARD_DATABASE_URL": database_url,
        "HOOKYARD_DATA_DIR": str(runtime.settings.data_dir),
        "HOOKYARD_ALLOW_PRIVATE_CALLBACKS": "true",
        **extra,
    }


def project_created(subscribed: Subscribed) -> dict[str, str]:
    """A ProjectCreated event that matches the subscription."""
    return {
        "eventType": "ProjectCreated",
        "companyId": subscribed.tenant.company.id,
        "businessUnitId": subscribed.unit,
        "projectId": "p-1",
    }


async def publish_project_created(base: str, subscribed: Subscribed) -> None:
    """Publish `project_created` to the Hookyard at `base` over HTTP, as its client; 202."""
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        tenant = subscribed.tenant
        access = await token(client, tenant.client_id, tenant.secret, "events:publish")
        accepted = await client.post(
            "/events/api/v1/precon", json=project_created(subscribed), headers=bearer(access)
        )
        assert accepted.status_code == 202, accepted.text
