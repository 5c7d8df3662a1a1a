"""`hookyard serve` accepts no event while its worker is dead: the worker's side task that keeps
failing stops it, the app answers 503 to publishes, and serve is told to exit non-zero."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from hookyard.cli import runtime as runtimes
from hookyard.cli import serve
from tests.support.tenants import bearer, make_tenant, token


async def test_serve_refuses_events_once_its_worker_died(
    runtime: runtimes.Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_listener(*_args: Any) -> None:
        raise RuntimeError("a bug in the wake-up listener")

    tenant = await make_tenant(runtime)
    monkeypatch.setattr(runtime.store.queue, "listen", broken_listener)
    dead = asyncio.Event()
    app = serve.with_worker(runtime.app(), runtime.settings, runtime.store, dead.set)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as api,
    ):
        headers = bearer(await token(api, tenant.client_id, tenant.secret, "events:publish"))
        await asyncio.wait_for(dead.wait(), 60)
        event = {
            "eventType": "ProjectCreated",
            "companyId": tenant.company.id,
            "businessUnitId": tenant.units[0].id,
            "projectId": "p",
        }
        refused = await api.post("/events/api/v1/precon", json=event, headers=headers)
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert "Retry-After" in refused.headers
    assert "delivery worker stopped" in refused.json()["detail"]
    assert await runtime.store.events.count() == 0
