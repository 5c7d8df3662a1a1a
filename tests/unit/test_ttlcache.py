"""The TTL cache behind token checks and the interval behind key-directory checks, on an
injected clock: expiry, in-process invalidation that a slower reader cannot undo, the bound."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from hookyard import clock
from hookyard.ttlcache import TtlCache
from tests.support.clocks import FakeClock


def test_a_value_lives_for_its_seconds_and_no_longer() -> None:
    time = FakeClock()
    cache: TtlCache[str, int] = TtlCache(1.0, monotonic=time)
    cache.put("a", 1, cache.stamp())
    time.now += 0.9
    assert cache.get("a") == (True, 1)
    time.now += 0.1
    assert cache.get("a") == (False, None)


def test_none_is_a_value_that_can_be_kept() -> None:
    cache: TtlCache[str, int | None] = TtlCache(1.0, monotonic=FakeClock())
    cache.put("a", None, cache.stamp())
    assert cache.get("a") == (True, None)
    assert cache.get("b") == (False, None)


def test_zero_seconds_keeps_nothing() -> None:
    cache: TtlCache[str, int] = TtlCache(0.0, monotonic=FakeClock())
    cache.put("a", 1, cache.stamp())
    assert cache.get("a") == (False, None)


def test_a_shorter_lifetime_is_honoured_and_a_longer_one_capped() -> None:
    time = FakeClock()
    cache: TtlCache[str, int] = TtlCache(1.0, monotonic=time)
    cache.put("short", 1, cache.stamp(), seconds=0.5)
    cache.put("long", 2, cache.stamp(), seconds=60)
    time.now += 0.5
    assert cache.get("short") == (False, None)
    assert cache.get("long") == (True, 2)
    time.now += 0.5
    assert cache.get("long") == (False, None)


def test_forget_drops_the_value_and_refuses_a_read_that_began_before_it() -> None:
    cache: TtlCache[str, str] = TtlCache(60.0, monotonic=FakeClock())
    cache.put("client", "active", cache.stamp())
    stamp = cache.stamp()  # a reader starts reading the row...
    cache.forget("client")  # ...the row changes and the writer forgets it...
    cache.put("client", "active", stamp)  # ...and the reader's old value comes back
    assert cache.get("client") == (False, None)
    cache.put("client", "revoked", cache.stamp())
    assert cache.get("client") == (True, "revoked")


@given(st.lists(st.integers(0, 50), max_size=200), st.integers(1, 10))
def test_never_more_than_max_entries(keys: list[int], bound: int) -> None:
    cache: TtlCache[int, int] = TtlCache(60.0, max_entries=bound, monotonic=FakeClock())
    for key in keys:
        cache.put(key, key, cache.stamp())
        assert len(cache) <= bound
    if keys:
        assert cache.get(keys[-1]) == (True, keys[-1])


def test_every_says_yes_at_most_once_per_interval() -> None:
    time = FakeClock()
    every = clock.Every(1.0, time)
    assert every.due()
    assert not every.due()
    time.now += 0.99
    assert not every.due()
    time.now += 0.01
    assert every.due()
    assert not every.due()


async def test_misses_together_share_one_load() -> None:
    cache: TtlCache[str, int] = TtlCache(1.0, monotonic=FakeClock())
    gate = asyncio.Event()
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await gate.wait()
        return 7

    waiting = [asyncio.ensure_future(cache.fetch("a", load)) for _ in range(5)]
    await asyncio.sleep(0)  # every fetch has started and found the load in flight
    gate.set()
    assert await asyncio.gather(*waiting) == [7] * 5
    assert loads == 1
    assert await cache.fetch("a", load) == 7
    assert loads == 1


async def test_a_fetch_after_a_forget_does_not_share_the_earlier_load() -> None:
    cache: TtlCache[str, str] = TtlCache(1.0, monotonic=FakeClock())
    gates = [asyncio.Event(), asyncio.Event()]
    values = iter(["before the change", "after the change"])

    async def load() -> str:
        value = next(values)
        await gates[0 if value.startswith("before") else 1].wait()
        return value

    early = asyncio.ensure_future(cache.fetch("a", load))
    await asyncio.sleep(0)
    cache.forget("a")  # the change commits while the early read is in flight
    late = asyncio.ensure_future(cache.fetch("a", load))
    await asyncio.sleep(0)
    gates[0].set()
    assert await early == "before the change"
    gates[1].set()
    assert await late == "after the change"
    # Neither stale value was kept: the early read began before the forget.
    assert cache.get("a") == (True, "after the change")


async def test_a_failed_load_fails_every_sharer_and_is_not_kept() -> None:
    cache: TtlCache[str, int] = TtlCache(1.0, monotonic=FakeClock())
    gate = asyncio.Event()

    async def load() -> int:
        await gate.wait()
        raise ConnectionError("database away")

    waiting = [asyncio.ensure_future(cache.fetch("a", load)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    assert cache.get("a") == (False, None)
