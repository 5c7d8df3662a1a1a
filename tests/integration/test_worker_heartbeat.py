"""A running worker writes its heartbeat to the database for other processes, and removes it
when it stops."""

from __future__ import annotations

from datetime import timedelta

from hookyard.clock import utcnow
from hookyard.store import Store
from tests.support import engine


async def test_a_running_worker_beats_and_a_stopped_one_is_forgotten(store: Store) -> None:
    started = utcnow()
    async with engine.running_worker(store):

        async def beating() -> bool:
            return len(await store.heartbeats.all()) == 1

        await engine.eventually(beating, what="the worker's heartbeat row")
        (beat,) = await store.heartbeats.all()
        assert started - timedelta(seconds=1) <= beat.beat_at <= utcnow()
        assert beat.interval_seconds > 0
    assert await store.heartbeats.all() == []
