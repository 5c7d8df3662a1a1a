"""Gap-free catch-up end to end: `hookyard serve` delivers a stream to a receiver built with
`hookyard.receiver` (challenge, verification, `Gaps`, `CatchUp`); the receiver is killed
mid-stream, the record is Stopped, the receiver comes back and subscribes again, and the next
delivery's gap makes it fetch what it missed: every sequence number is handled exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from hookyard import signing
from hookyard.cli.runtime import Runtime
from hookyard.receiver import Webhook
from hookyard.receiver.catchup import CatchUp, Gaps, sequence_of
from tests.support import engine, processes, served, tenancy
from tests.support.receiver import wait_until
from tests.support.tenants import Tenant, bearer, make_tenant, token

pytestmark = pytest.mark.slow
STREAM = 20


class CatchingReceiver:
    """A subscriber's app: answers challenges, verifies, handles each sequence number once and
    fills gaps from Hookyard's catch-up endpoint."""

    def __init__(self, port: int, secret: str, hookyard: str, tenant: Tenant) -> None:
        self.port, self.secret, self.hookyard, self.tenant = port, secret, hookyard, tenant
        self.url = f"http://127.0.0.1:{port}/hook"
        self.webhook = Webhook(secret)
        self.gaps = Gaps()
        self.handled: list[int] = []
        self.filling = asyncio.Lock()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/hook", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def kill(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        reply = self.webhook.reply(request.method, request.query_string, request.headers, body)
        if reply.event is not None:
            if self.gaps.see(sequence_of(request.headers)):
                self.handled.append(sequence_of(request.headers))
            if self.gaps.missing():
                await self._fill()
        return web.Response(status=reply.status, text=reply.body)

    async def _fill(self) -> None:
        async with self.filling:
            client = CatchUp(self.hookyard, self.tenant.client_id, self.tenant.secret)
            async with client as catch_up:
                for missed in await catch_up.fill(self.url, self.gaps, self.secret):
                    self.handled.append(missed.sequence)


def _event(tenant: Tenant, n: int) -> dict[str, str]:
    return {
        "eventType": "EmployeeCreated",
        "companyId": tenant.company.id,
        "businessUnitId": tenant.units[0].id,
        "id": str(n),
    }


async def test_a_receiver_killed_mid_stream_ends_with_every_number_once(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    tenant = await make_tenant(runtime)
    secret = signing.generate_secret()
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    app = CatchingReceiver(processes.free_port(), secret, base, tenant)
    owner = tenancy.Tenant(tenant.company.id, tenant.client_id)
    record = await tenancy.subscribe(
        runtime.store, owner, "setups", "EmployeeCreated", app.url, secret=secret
    )
    env = served.environment(
        runtime, database_url, HOOKYARD_RETRY_BASE_SECONDS="0.05", HOOKYARD_MAX_ATTEMPTS="2",
        HOOKYARD_POLL_INTERVAL_SECONDS="0.1",
    )  # fmt: skip
    publisher = engine.events(runtime.store)
    await app.start()
    with processes.running(
        [*processes.HOOKYARD, "serve", "--port", str(port)], tmp_path, env
    ) as hy:
        await hy.wait_until_answering(f"{base}/healthz")

        async def stream() -> None:
            for n in range(1, STREAM + 1):
                await publisher.publish("setups", _event(tenant, n), publisher_id="p")
                await asyncio.sleep(0.02)  # a steady stream, not a synchronisation

        streaming = asyncio.create_task(stream())
        await wait_until(lambda: len(app.handled) >= 4, 60, "the first deliveries")
        await app.kill()
        await streaming

        async def stopped() -> bool:
            return (await tenancy.subscription_status(runtime.store, record))[0] == "Stopped"

        await engine.eventually(stopped, 60, "the record Stopped")
        assert len(app.handled) < STREAM, "the receiver was not killed mid-stream"
        await app.start()
        async with httpx.AsyncClient(base_url=base, timeout=30) as api:
            access = await token(api, tenant.client_id, tenant.secret, "dis:read")
            body = {"url": app.url, "eventTypes": ["EmployeeCreated"]}
            again = await api.post("/webhooks/api/v1/setups", json=body, headers=bearer(access))
            assert again.status_code == 200, again.text
        await publisher.publish("setups", _event(tenant, 99), publisher_id="p")
        await wait_until(lambda: len(app.handled) >= STREAM + 1, 60, "the gap filled")
        await app.kill()
    assert Counter(app.handled) == Counter(range(1, STREAM + 2))
