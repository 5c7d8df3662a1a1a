"""`/healthz` and `/readyz`: each readiness check fails for its own cause with a line that says
what to do, and passes once the cause is gone."""

from __future__ import annotations

from datetime import timedelta

import httpx

from hookyard import clock
from hookyard.cli.runtime import Runtime
from hookyard.cli.worker import delivery_worker
from hookyard.services.health import Health, Pulse
from hookyard.store import Store, migrate
from hookyard.store.heartbeats import Heartbeat
from tests.support import engine


async def _ready(api: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
    response = await api.get("/readyz")
    body = response.json()
    assert body["status"] == ("ready" if response.status_code == 200 else "not ready")
    checks: dict[str, str] = body["checks"]
    return response.status_code, checks


async def test_healthz_answers_without_the_database(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_not_ready_until_a_worker_beats(api: httpx.AsyncClient, runtime: Runtime) -> None:
    status, checks = await _ready(api)
    assert status == 503
    assert checks["database"] == checks["migrations"] == "ok"
    assert "start `hookyard worker`" in checks["worker"]
    # As `hookyard serve` wires it: the worker beats the pulse the app's /readyz reads.
    async with delivery_worker(runtime.settings, runtime.store, runtime.health.pulse):
        await engine.eventually(lambda: _beaten(runtime.health.pulse), what="a beat")
        assert await _ready(api) == (200, {"database": "ok", "migrations": "ok", "worker": "ok"})


async def _beaten(pulse: Pulse) -> bool:
    return pulse.at is not None


async def test_a_split_worker_is_seen_through_its_heartbeat_row(
    api: httpx.AsyncClient, runtime: Runtime, store: Store
) -> None:
    """A worker in another process (`hookyard worker`) is seen through the row it writes."""
    async with engine.running_worker(store, heartbeat_seconds=0.05) as worker:

        async def has_row() -> bool:
            return await store.heartbeats.latest() is not None

        await engine.eventually(has_row, what="a heartbeat row")
        assert runtime.health.pulse.at is None  # not this process's worker
        assert (await _ready(api))[0] == 200
        (beat,) = await store.heartbeats.all()
        assert beat.worker_id == worker.worker_id
    assert (await _ready(api))[0] == 503  # a worker that stops removes its row


async def test_a_stale_row_of_a_dead_worker_is_not_ready(
    api: httpx.AsyncClient, store: Store
) -> None:
    started = clock.utcnow() - timedelta(minutes=10)
    dead = Heartbeat("gone:1:AAAAAA", "gone", 1, started, started, 5.0)
    await store.heartbeats.beat(dead)
    status, checks = await _ready(api)
    assert status == 503
    assert "s old" in checks["worker"]


async def test_a_stale_beat_is_not_ready(store: Store) -> None:
    pulse = Pulse(now=lambda: clock.utcnow() - timedelta(seconds=31))
    pulse.beat()
    health = Health(store, migrate.heads, worker_within_seconds=30, pulse=pulse)
    readiness = await health.readiness()
    assert not readiness.ready
    assert "s old (limit 30 s): check the worker's log" in readiness.checks["worker"]


async def test_a_schema_behind_the_code_is_not_ready(store: Store) -> None:
    pulse = Pulse()
    pulse.beat()
    health = Health(
        store, lambda: frozenset({"9999_future"}), worker_within_seconds=30, pulse=pulse
    )
    readiness = await health.readiness()
    assert not readiness.ready
    assert readiness.checks["migrations"].endswith("run `hookyard migrate`")
    assert readiness.checks["worker"] == "ok"


async def test_a_database_that_does_not_answer_is_not_ready() -> None:
    gone = Store("postgresql://postgres@127.0.0.1:1/nothing")
    try:
        readiness = await Health(gone, migrate.heads, worker_within_seconds=30).readiness()
    finally:
        await gone.close()
    assert not readiness.ready
    assert readiness.checks["database"].startswith("the database does not answer")
