"""`/metrics` and `/readyz` with separate processes: a worker process's delivery tries (and their
results by product) show in the API process's `/metrics` (prometheus-client multiprocess mode,
PROMETHEUS_MULTIPROC_DIR), and the API process is ready once the worker process's heartbeat row
is fresh."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hookyard.cli.runtime import Runtime
from tests.support import processes, served
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow
TOKEN = "e2e-scrape-token"


async def _sample(base: str, name: str, labels: dict[str, str]) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


async def _attempts(base: str) -> float:
    return await _sample(base, "hookyard_delivery_attempts_total", {"outcome": "success"})


async def _results(base: str) -> float:
    labels = {"product": "precon", "outcome": "succeeded"}
    return await _sample(base, "hookyard_delivery_results_total", labels)


async def _ready(base: str) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        return (await client.get("/readyz")).status_code


async def test_the_api_process_reports_the_worker_process_counters(
    runtime: Runtime, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    subscribed = await served.subscribed_tenant(runtime, receiver)
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = served.environment(
        runtime,
        database_url,
        HOOKYARD_METRICS_TOKEN=TOKEN,
        HOOKYARD_HEARTBEAT_SECONDS="0.2",
        PROMETHEUS_MULTIPROC_DIR=str(shared),
    )
    (tmp_path / "api").mkdir()
    (tmp_path / "worker").mkdir()
    api_args = [*processes.HOOKYARD, "api", "--port", str(port)]
    with processes.running(api_args, tmp_path / "api", env) as api:
        await api.wait_until_answering(f"{base}/healthz")
        assert await _ready(base) == 503  # no worker yet
        assert await _attempts(base) == 0
        await served.publish_project_created(base, subscribed)
        worker_args = [*processes.HOOKYARD, "worker"]
        with processes.running(worker_args, tmp_path / "worker", env) as worker:
            await receiver.wait_for(lambda: len(receiver.posts()) == 1, 30, "the delivery")
            await _eventually(lambda: _ready(base), 200, "the worker's heartbeat")
            beats = await runtime.store.heartbeats.all()
            assert len(beats) == 1, f"one heartbeat row per worker process: {beats}"
            await _eventually(lambda: _attempts(base), 1.0, "the worker's try in /metrics")
            await _eventually(lambda: _results(base), 1.0, "the worker's result in /metrics")
            assert worker.stop() == 0, worker.errors
        assert await _ready(base) == 503  # the worker removed its row on its way out
        assert await _attempts(base) == 1.0  # a stopped process's counts are kept
        assert await _results(base) == 1.0


async def _eventually(read: Callable[[], Awaitable[float]], expected: float, what: str) -> None:
    deadline = time.monotonic() + 30
    while (got := await read()) != expected:
        assert time.monotonic() < deadline, f"timed out waiting for {what} (last: {got})"
        await asyncio.sleep(0.1)
