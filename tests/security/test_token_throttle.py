"""The failure throttle on its own, with an injected clock: windows, Retry-After, bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard import errors
from hookyard.services.throttle import FailureThrottle, Limit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, per_client: int = 3, per_address: int = 5) -> FailureThrottle:
    return FailureThrottle(
        per_client=Limit(per_client, 60.0), per_address=Limit(per_address, 60.0), now=clock
    )


def test_a_client_id_is_refused_once_it_reaches_its_limit_until_the_window_passes() -> None:
    clock = Clock()
    limiter = throttle(clock)
    for second in range(3):
        limiter.check("hyc_a", None)
        clock.now = 1000.0 + second
        limiter.failed("hyc_a", None)
    clock.now = 1010.0
    with pytest.raises(errors.RateLimited) as caught:
        limiter.check("hyc_a", None)
    assert caught.value.retry_after == 50
    assert "retry after 50 seconds" in caught.value.detail
    limiter.check("hyc_b", None)
    clock.now = 1060.0
    limiter.check("hyc_a", None)


def test_failures_from_one_address_add_up_across_client_ids() -> None:
    clock = Clock()
    limiter = throttle(clock)
    for n in range(5):
        limiter.failed(f"hyc_guess{n}", "127.0.0.2")
    with pytest.raises(errors.RateLimited):
        limiter.check("hyc_fresh", "127.0.0.2")
    limiter.check("hyc_fresh", "127.0.0.3")
    limiter.check("hyc_fresh", None)


def test_the_message_is_the_same_whichever_key_tripped() -> None:
    clock = Clock()
    by_client, by_address = throttle(clock, 1, 1), throttle(clock, 1, 1)
    by_client.failed("hyc_a", "127.0.0.2")
    by_address.failed("hyc_other", "127.0.0.2")
    with pytest.raises(errors.RateLimited) as first:
        by_client.check("hyc_a", "127.0.0.9")
    with pytest.raises(errors.RateLimited) as second:
        by_address.check("hyc_a", "127.0.0.2")
    assert first.value.detail == second.value.detail
    assert first.value.retry_after == second.value.retry_after == 60


def test_memory_is_bounded() -> None:
    clock = Clock()
    limiter = FailureThrottle(per_client=Limit(1, 60.0), max_keys=10, now=clock)
    for n in range(1000):
        limiter.failed(f"hyc_{n}", None)
    limiter.check("hyc_0", None)  # evicted: the oldest keys go first
    with pytest.raises(errors.RateLimited):
        limiter.check("hyc_999", None)


@given(
    gaps=st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=30),
    limit=st.integers(1, 8),
)
def test_never_more_than_the_limit_of_failures_inside_any_window(
    gaps: list[float], limit: int
) -> None:
    clock = Clock()
    limiter = FailureThrottle(per_client=Limit(limit, 60.0), now=clock)
    counted: list[float] = []
    for gap in gaps:
        clock.now += gap
        recent = len([t for t in counted if t > clock.now - 60.0])
        try:
            limiter.check("hyc_a", None)
            wait = 0
        except errors.RateLimited as exc:
            wait = exc.retry_after
        if wait:
            assert 1 <= wait <= 60
            assert recent >= limit
        else:
            assert recent < limit
            limiter.failed("hyc_a", None)
            counted.append(clock.now)
