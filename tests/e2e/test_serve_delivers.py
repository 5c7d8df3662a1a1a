"""`hookyard serve` as a real process: a published event is delivered by its built-in worker."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import standardwebhooks

from hookyard.cli.runtime import Runtime
from tests.support import processes, served
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow


async def test_serve_accepts_an_event_and_delivers_it(
    runtime: Runtime, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    subscribed = await served.subscribed_tenant(runtime, receiver)
    unit = subscribed.unit
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    env = served.environment(
        runtime, database_url, HOOKYARD_PUBLIC_BASE_URL=base, HOOKYARD_LOG_LEVEL="DEBUG"
    )
    args = [*processes.HOOKYARD, "serve", "--port", str(port)]
    with processes.running(args, tmp_path, env) as server:
        await server.wait_until_answering(f"{base}/healthz")
        await served.publish_project_created(base, subscribed)
        await receiver.wait_for(lambda: len(receiver.posts()) == 1, timeout=30, what="the delivery")
        assert server.stop(signal.SIGTERM) == 0, server.errors
        assert "Application shutdown complete" in server.errors
        attempts = [
            json.loads(line) for line in server.errors.splitlines() if "delivery_attempt" in line
        ]
    (got,) = receiver.posts()
    standardwebhooks.Webhook(subscribed.secret).verify(got.body, got.headers)
    (attempt,) = attempts
    assert attempt["delivery_id"] == got.headers["webhook-id"]
    assert (attempt["attempt"], attempt["status"], attempt["outcome"]) == (1, 200, "success")
    assert attempt["duration_ms"] >= 0
    assert (
        f'"entityUrl":"{base}/precon/api/v1/businessUnits/{unit}/Projects/p-1"'.encode() in got.body
    )
