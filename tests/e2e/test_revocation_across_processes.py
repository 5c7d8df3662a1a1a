"""`hookyard clients revoke` run while `hookyard serve` is serving: the server refuses the
revoked client's token within its auth cache time (HOOKYARD_AUTH_CACHE_SECONDS), as
docs/security.md says, without a restart."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from hookyard.cli.runtime import Runtime
from tests.support import processes, served
from tests.support.engine import eventually
from tests.support.receiver import Receiver
from tests.support.tenants import bearer, token

pytestmark = pytest.mark.slow


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
            revoke = [*processes.HOOKYARD, "clients", "revoke", client_id, "--json"]
            done = await asyncio.to_thread(
                subprocess.run,
                revoke,
                env={**os.environ, **env},
                capture_output=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr

            async def refused() -> bool:
                return await status() == 401

            await eventually(refused, timeout=30, what="the revoked client's token to be refused")
        assert server.stop() == 0, server.errors
