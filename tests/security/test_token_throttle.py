"""The failure throttle on the real database (both dialects), with an injected clock: per client
id and address, per address, the doubling wait, windows, Retry-After, and one count for every
throttle (process) on the same database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard import errors
from hookyard.services.throttle import FailureThrottle, Limit
from hookyard.store import Store

CLIENT, OTHER_CLIENT = "hyc_a", "hyc_b"
HOME, STRANGER = "127.0.0.1", "127.0.0.2"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def throttle(
    store: Store, clock: Clock, per_client: int = 3, per_address: int = 5
) -> FailureThrottle:
    return FailureThrottle(
        store.auth_failures,
        per_client=Limit(per_client, 60.0),
        per_address=Limit(per_address, 60.0),
        now=clock,
    )


async def wait_of(limiter: FailureThrottle, client_id: str, address: str | None) -> int:
    """The Retry-After a request would get now (0: none), checked against its message."""
    refusal: errors.RateLimited | None = None
    try:
        await limiter.check(client_id, address)
    except errors.RateLimited as exc:
        refusal = exc
    if refusal is None:
        return 0
    assert refusal.retry_after is not None
    assert f"retry after {refusal.retry_after} seconds" in refusal.detail
    return refusal.retry_after


@given(limit=st.integers(1, 20), window=st.floats(1, 3600), failures=st.integers(0, 200))
def test_the_wait_is_zero_then_doubles_and_never_exceeds_the_window(
    limit: int, window: float, failures: int
) -> None:
    rule = Limit(limit, window)
    wait = rule.block_for(failures)
    if failures < limit:
        assert wait == 0
    else:
        assert 0 < wait <= window
        assert rule.block_for(failures + 1) == min(window, 2 * wait)


async def test_a_client_id_from_one_address_waits_longer_after_each_further_failure(
    store: Store,
) -> None:
    clock = Clock()
    limiter = throttle(store, clock)
    waits = []
    for _ in range(6):
        waits.append(await wait_of(limiter, CLIENT, STRANGER))
        clock.advance(waits[-1])
        await limiter.failed(CLIENT, STRANGER)
    assert waits == [0, 0, 0, 1, 2, 4]
    assert await wait_of(limiter, CLIENT, STRANGER) == 8


async def test_a_stranger_failing_does_not_slow_the_client_down_from_its_own_address(
    store: Store,
) -> None:
    clock = Clock()
    limiter = throttle(store, clock, per_address=1000)
    stranger_waits = []
    for _ in range(40):
        stranger_waits.append(await wait_of(limiter, CLIENT, STRANGER))
        clock.advance(stranger_waits[-1])
        await limiter.failed(CLIENT, STRANGER)
        assert await wait_of(limiter, CLIENT, HOME) == 0
    assert max(stranger_waits) == 32
    assert await wait_of(limiter, OTHER_CLIENT, STRANGER) == 0


async def test_failures_from_one_address_add_up_across_client_ids(store: Store) -> None:
    clock = Clock()
    limiter = throttle(store, clock)
    for n in range(5):
        await limiter.failed(f"hyc_guess{n}", STRANGER)
    assert await wait_of(limiter, "hyc_fresh", STRANGER) == 1
    assert await wait_of(limiter, "hyc_fresh", HOME) == 0
    assert await wait_of(limiter, "hyc_fresh", None) == 0


async def test_a_window_that_passes_starts_the_count_again(store: Store) -> None:
    clock = Clock()
    limiter = throttle(store, clock)
    for _ in range(3):
        await limiter.failed(CLIENT, HOME)
    assert await wait_of(limiter, CLIENT, HOME) == 1
    clock.advance(61)
    await limiter.failed(CLIENT, HOME)
    assert await wait_of(limiter, CLIENT, HOME) == 0


async def test_throttles_on_one_database_share_one_count(store: Store) -> None:
    clock = Clock()
    one, other = throttle(store, clock), throttle(store, clock)
    await one.failed(CLIENT, HOME)
    await other.failed(CLIENT, HOME)
    await one.failed(CLIENT, HOME)
    assert await wait_of(other, CLIENT, HOME) == 1


async def test_a_long_client_id_is_counted_under_its_first_128_characters(store: Store) -> None:
    clock = Clock()
    limiter = throttle(store, clock, per_client=1)
    await limiter.failed("x" * 5000, HOME)
    assert await wait_of(limiter, "x" * 128 + "y", HOME) == 1


@pytest.mark.parametrize("address", [HOME, None])
async def test_the_message_is_the_same_whichever_key_tripped(
    store: Store, address: str | None
) -> None:
    clock = Clock()
    limiter = throttle(store, clock, per_client=1, per_address=1)
    await limiter.failed(CLIENT, address)
    with pytest.raises(errors.RateLimited) as by_client:
        await limiter.check(CLIENT, address)
    await limiter.failed("hyc_other", STRANGER)
    with pytest.raises(errors.RateLimited) as by_address:
        await limiter.check("hyc_third", STRANGER)
    assert by_client.value.detail == by_address.value.detail
