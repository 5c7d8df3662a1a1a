"""`hookyard api` and `hookyard worker` as separate processes on one database: the API accepts,
the worker delivers."""

from __future__ import annotations

from pathlib import Path

import pytest
import standardwebhooks

from hookyard.cli.runtime import Runtime
from tests.support import processes, served
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow


async def test_an_api_process_and_a_worker_process_deliver_together(
    runtime: Runtime, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    subscribed = await served.subscribed_tenant(runtime, receiver)
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    env = served.environment(runtime, database_url)
    (tmp_path / "api").mkdir()
    (tmp_path / "worker").mkdir()
    api_args = [*processes.HOOKYARD, "api", "--port", str(port)]
    with processes.running(api_args, tmp_path / "api", env) as api:
        await api.wait_until_answering(f"{base}/healthz")
        assert "API only" in api.errors
        await served.publish_project_created(base, subscribed)
        worker_args = [*processes.HOOKYARD, "worker"]
        with processes.running(worker_args, tmp_path / "worker", env) as worker:
            await receiver.wait_for(lambda: len(receiver.posts()) == 1, 30, "the delivery")
            assert worker.stop() == 0, worker.errors
    (got,) = receiver.posts()
    standardwebhooks.Webhook(subscribed.secret).verify(got.body, got.headers)
