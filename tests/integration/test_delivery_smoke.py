from __future__ import annotations

from hookyard.store import Store
from tests.support import engine, tenancy
from tests.support.receiver import Receiver


async def test_smoke(store: Store, receiver: Receiver) -> None:
    tenant = await tenancy.add_tenant(store)
    bu = "7c3d9c2e-0000-4000-8000-000000000001"
    await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", receiver.url(), partition=bu)
    service = engine.events(store)
    async with engine.running_worker(store):
        published = await service.publish(
            "precon",
            {
                "eventType": "ProjectCreated",
                "companyId": tenant.company_id,
                "businessUnitId": bu,
                "projectId": "p1",
            },
            publisher_id="test",
        )
        assert published.deliveries == 1
        await receiver.wait_for(lambda: len(receiver.posts()) == 1)
    print(receiver.posts()[0])
    print(await tenancy.delivery_states(store))
