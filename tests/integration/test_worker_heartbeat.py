"""A running worker writes its heartbeat to the database for other processes, removes it when it
stops, and removes the rows of workers that died long ago."""

from __future__ import annotations

from datetime import timedelta

from hookyard.clock import utcnow
from hookyard.store import Store, heartbeats
from hookyard.store.heartbeats import Heartbeat
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


async def test_a_worker_removes_rows_of_workers_dead_for_long_and_keeps_live_ones(
    store: Store,
) -> None:
    now = utcnow()
    dead_since = now - heartbeats.stale_after(5.0) - timedelta(minutes=1)
    dead = Heartbeat("dead:1:AAAAAA", "dead", 1, dead_since, dead_since, 5.0)
    quiet = now - timedelta(minutes=5)
    other = Heartbeat("other:2:BBBBBB", "other", 2, quiet, quiet, 5.0)
    for beat in (dead, other):
        await store.heartbeats.beat(beat)
    async with engine.running_worker(store) as worker:

        async def pruned() -> bool:
            return {b.worker_id for b in await store.heartbeats.all()} == {
                worker.worker_id,
                other.worker_id,
            }

        await engine.eventually(pruned, what="the dead worker's row removed, the others kept")
    assert [b.worker_id for b in await store.heartbeats.all()] == [other.worker_id]


async def test_prune_removes_only_rows_older_than_its_limit(store: Store) -> None:
    now = utcnow()
    for n, age in enumerate((timedelta(days=2), timedelta(hours=23))):
        at = now - age
        await store.heartbeats.beat(Heartbeat(f"w:{n}:CCCCCC", "w", n, at, at, 5.0))
    assert await store.heartbeats.prune(now - heartbeats.stale_after(5.0)) == 1
    assert [b.worker_id for b in await store.heartbeats.all()] == ["w:1:CCCCCC"]
    assert heartbeats.stale_after(5.0) == timedelta(days=1)
    assert heartbeats.stale_after(3600.0) == timedelta(hours=100)
