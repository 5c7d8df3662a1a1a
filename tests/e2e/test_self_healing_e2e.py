"""Self-healing end to end: `hookyard serve` Stops a record whose callback fails, holds what is
published meanwhile, probes the url on its schedule and, because the client subscribed with
`autoReactivate`, reactivates it when the probe passes and delivers the held events in order.

The held deliveries are released in publish order, but a host's lanes send up to
`per_host_concurrency` at once, so arrival order is strict only with one lane per host: the test
runs with one (with more, the receiver orders by `webhook-sequence`)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from hookyard.cli.runtime import Runtime
from tests.support import engine, processes, served
from tests.support.receiver import Behaviour, Receiver
from tests.support.tenants import bearer, make_tenant, token

pytestmark = pytest.mark.slow


async def test_a_stopped_url_that_recovers_gets_its_held_events_in_order(
    runtime: Runtime, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    tenant = await make_tenant(runtime)
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    env = served.environment(
        runtime, database_url, HOOKYARD_MAX_ATTEMPTS="1", HOOKYARD_PROBE_INTERVAL_SECONDS="1",
        HOOKYARD_POLL_INTERVAL_SECONDS="0.1", HOOKYARD_PER_HOST_CONCURRENCY="1",
    )  # fmt: skip
    publisher = engine.events(runtime.store)

    def event(item: str) -> dict[str, str]:
        company = tenant.company.id
        return {
            "eventType": "EmployeeCreated",
            "companyId": company,
            "businessUnitId": tenant.units[0].id,
            "id": item,
        }

    with processes.running(
        [*processes.HOOKYARD, "serve", "--port", str(port)], tmp_path, env
    ) as hy:
        await hy.wait_until_answering(f"{base}/healthz")
        async with httpx.AsyncClient(base_url=base, timeout=30) as api:
            access = await token(api, tenant.client_id, tenant.secret, "dis:read")
            body = {
                "url": receiver.url(),
                "eventTypes": ["EmployeeCreated"],
                "autoReactivate": True,
            }
            answer = await api.post("/webhooks/api/v1/setups", json=body, headers=bearer(access))
            assert answer.status_code == 200, answer.text
        receiver.answer("/hook", Behaviour(status=500))
        await publisher.publish("setups", event("fails"), publisher_id="p")
        await receiver.wait_for(lambda: len(receiver.posts()) == 1, 30, "the failing try")
        (record,) = await runtime.store.subscriptions.of_client(tenant.client_id)

        async def stopped() -> bool:
            got = await runtime.store.subscriptions.get(record.id)
            return got is not None and got.status.value == "Stopped"

        await engine.eventually(stopped, 30, "the record Stopped")
        for item in ("h1", "h2", "h3"):
            await publisher.publish("setups", event(item), publisher_id="p")
        receiver.answer("/hook", Behaviour(status=200))
        await receiver.wait_for(lambda: len(receiver.posts()) == 4, 60, "the held three")
        assert "subscription.recovered" in hy.errors
    held = receiver.posts()[1:]
    assert [json.loads(p.body)["id"] for p in held] == ["h1", "h2", "h3"]
    assert [int(p.headers["webhook-sequence"]) for p in held] == [2, 3, 4]
    probes = [r for r in receiver.received("GET") if "challenge" in r.query]
    assert len(probes) >= 2  # the subscription's challenge and at least one probe
