"""`hookyard clients revoke` and `rotate-secret` run while `hookyard serve` is serving: the
server refuses the client's earlier token within its auth cache time (HOOKYARD_AUTH_CACHE_SECONDS)
and its console sessions on the next request, as docs/security.md says, without a restart."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from hookyard.cli.runtime import Runtime
from tests.support import console, processes, served
from tests.support.engine import eventually
from tests.support.receiver import Receiver
from tests.support.tenants import bearer, token

pytestmark = pytest.mark.slow


async def _hookyard(env: dict[str, str], *args: str) -> dict[str, str]:
    """Run `hookyard ARGS --json` as its own process; its JSON output."""
    done = await asyncio.to_thread(
        subprocess.run,
        [*processes.HOOKYARD, *args, "--json"],
        env={**os.environ, **env},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    output: dict[str, str] = json.loads(done.stdout)
    return output


async def test_a_cli_revoke_is_refused_by_the_running_server(
    runtime: Runtime, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    subscribed = await served.subscribed_tenant(runtime, receiver)
    client_id = subscribed.tenant.client_id
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    env = served.environment(runtime, database_url, HOOKYARD_PUBLIC_BASE_URL=base)
    args = [*processes.HOOKYARD, "serve", "--port", str(port)]
    with processes.running(args, tmp_path, env) as server:
        await server.wait_until_answering(f"{base}/healthz")
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            headers = bearer(await token(client, client_id, subscribed.tenant.secret))
            event = served.project_created(subscribed)

            async def status() -> int:
                response = await client.post("/events/api/v1/precon", json=event, headers=headers)
                return response.status_code

            assert [await status(), await status()] == [202, 202]
            await _hookyard(env, "clients", "revoke", client_id)

            async def refused() -> bool:
                return await status() == 401

            await eventually(refused, timeout=30, what="the revoked client's token to be refused")
        assert server.stop() == 0, server.errors


async def test_a_cli_rotation_ends_the_sessions_and_tokens_it_replaces_in_the_running_server(
    runtime: Runtime, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    subscribed = await served.subscribed_tenant(runtime, receiver)
    tenant = subscribed.tenant
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    env = served.environment(runtime, database_url, HOOKYARD_PUBLIC_BASE_URL=base)
    args = [*processes.HOOKYARD, "serve", "--port", str(port)]
    with processes.running(args, tmp_path, env) as server:
        await server.wait_until_answering(f"{base}/healthz")
        async with httpx.AsyncClient(base_url=base, timeout=20) as client:
            await console.signed_in(client, tenant.client_id, tenant.secret)
            event = served.project_created(subscribed)

            async def status(access: str) -> int:
                answer = await client.post(
                    "/events/api/v1/precon", json=event, headers=bearer(access)
                )
                return answer.status_code

            before = await token(client, tenant.client_id, tenant.secret)
            assert await status(before) == 202
            rotated = await _hookyard(env, "clients", "rotate-secret", tenant.client_id)
            page = await client.get("/console/subscriptions")
            assert page.status_code == 401
            assert "Your session has ended" in page.text

            async def refused() -> bool:
                return await status(before) == 401

            await eventually(refused, timeout=30, what="the token of the old secret to be refused")
            after = await token(client, tenant.client_id, rotated["client_secret"])
            assert await status(after) == 202
        assert server.stop() == 0, server.errors
