"""The TTL cache behind token checks and the interval behind key-directory checks, on an
injected clock: expiry, in-process invalidation that a slower reader cannot undo, the bound."""

from __future__ import annotations

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
