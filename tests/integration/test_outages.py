"""PostgreSQL outages, on a private cluster this test starts (never the shared server): the API
answers 503 with Retry-After while the database is away (the console a 503 page that says so),
the worker waits without crashing, and both resume unaided; the wake-up listener reconnects
after `pg_ctl restart`, so a publish from another process is delivered long before the worker's
poll interval."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from hookyard.cli import runtime as runtimes
from hookyard.config import Settings
from tests.support import console, engine, pgcluster, processes, tenancy
from tests.support.receiver import Receiver, wait_until
from tests.support.tenants import bearer, make_tenant, token

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(pgcluster.problem() is not None, reason=str(pgcluster.problem())),
]

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
LONG_POLL = 300.0


@pytest.fixture
def cluster() -> Iterator[pgcluster.Cluster]:
    with pgcluster.running() as running:
        yield running


@pytest.fixture
def cluster_settings(cluster: pgcluster.Cluster, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=cluster.create_database(),
        public_base_url="http://testserver",
        allow_private_callbacks=True,
    )


@pytest.fixture
async def cluster_runtime(cluster_settings: Settings) -> AsyncIterator[runtimes.Runtime]:
    wired = runtimes.build(cluster_settings)
    yield wired
    await wired.close()


def _employee(company_id: str, item: str) -> dict[str, str]:
    return {
        "eventType": "EmployeeCreated",
        "companyId": company_id,
        "businessUnitId": BU,
        "id": item,
    }


async def test_the_api_answers_503_while_the_database_is_away_and_resumes_unaided(
    cluster: pgcluster.Cluster,
    cluster_runtime: runtimes.Runtime,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenant = await make_tenant(cluster_runtime)
    owner = tenancy.Tenant(tenant.company.id, tenant.client_id)
    await tenancy.subscribe(
        cluster_runtime.store, owner, "setups", "EmployeeCreated", receiver.url()
    )
    transport = httpx.ASGITransport(app=cluster_runtime.app())
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as api,
        engine.running_worker(cluster_runtime.store, poll_interval_seconds=0.2),
    ):
        headers = bearer(await token(api, tenant.client_id, tenant.secret, "events:publish"))
        event = _employee(tenant.company.id, "before")
        assert (
            await api.post("/events/api/v1/setups", json=event, headers=headers)
        ).status_code == 202
        await receiver.wait_for(lambda: len(receiver.posts()) == 1, what="the first delivery")

        await asyncio.to_thread(cluster.stop)
        with caplog.at_level(logging.INFO, logger="hookyard.delivery"):
            refused = await api.post(
                "/events/api/v1/setups",
                json=_employee(tenant.company.id, "during"),
                headers=headers,
            )
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
            assert int(refused.headers["Retry-After"]) > 0
            assert "database cannot be reached" in refused.json()["detail"]
            # Let the worker meet the outage for a while: it waits, it does not crash or flood.
            await wait_until(
                lambda: any("claiming deliveries failed" in r.getMessage() for r in caplog.records),
                30,
                "the worker noticing the outage",
            )
            await asyncio.to_thread(cluster.start)

        async def accepted() -> bool:
            answer = await api.post(
                "/events/api/v1/setups", json=_employee(tenant.company.id, "after"), headers=headers
            )
            return answer.status_code == 202

        await engine.eventually(accepted, timeout=60, what="the API accepting events again")
        await receiver.wait_for(
            lambda: len(receiver.posts()) == 2, timeout=60, what="delivery after the outage"
        )
    claim_lines = [r for r in caplog.records if "claiming deliveries failed" in r.getMessage()]
    assert len(claim_lines) <= 2


async def test_the_console_shows_a_503_page_while_the_database_is_away(
    cluster: pgcluster.Cluster, cluster_runtime: runtimes.Runtime
) -> None:
    tenant = await make_tenant(cluster_runtime)
    transport = httpx.ASGITransport(app=cluster_runtime.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        await console.signed_in(browser, tenant.client_id, tenant.secret)
        await asyncio.to_thread(cluster.stop)
        page = await browser.get("/console/subscriptions")
        assert page.status_code == 503
        assert int(page.headers["Retry-After"]) > 0
        assert "The database is not answering; try again shortly." in page.text
        assert "Nothing was changed." in page.text
        await asyncio.to_thread(cluster.start)

        async def shown() -> bool:
            return (await browser.get("/console/subscriptions")).status_code == 200

        await engine.eventually(shown, timeout=60, what="the console answering again")


async def test_the_wakeup_listener_reconnects_after_a_postgres_restart(
    cluster: pgcluster.Cluster,
    cluster_settings: Settings,
    receiver: Receiver,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from hookyard.store import Store

    store = Store.from_settings(cluster_settings)
    try:
        tenant = await tenancy.add_tenant(store)
        await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", receiver.url())
        args = processes.publish_employee_created(tenant.company_id, BU)
        env = {
            "HOOKYARD_DATABASE_URL": cluster_settings.database_url,
            "HOOKYARD_DATA_DIR": str(cluster_settings.data_dir),
        }
        caplog.set_level(logging.INFO, logger="hookyard.delivery")
        async with engine.running_worker(store, poll_interval_seconds=LONG_POLL) as worker:
            await asyncio.wait_for(worker.listening.wait(), 30)
            await asyncio.to_thread(cluster.restart)
            await wait_until(
                lambda: any("listener: working again" in r.getMessage() for r in caplog.records),
                60,
                "the listener reconnected",
            )
            assert worker.listening.is_set()
            with processes.running(args, tmp_path, env) as publisher:
                await wait_until(lambda: publisher.popen.poll() is not None, 60, "publish")
                assert publisher.popen.returncode == 0, publisher.errors
            # Far sooner than the poll interval: only a NOTIFY can have woken the worker.
            await receiver.wait_for(
                lambda: len(receiver.posts()) == 1, timeout=60, what="the delivery"
            )
    finally:
        await store.close()
