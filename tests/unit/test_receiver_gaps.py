"""`hookyard.receiver.catchup.Gaps` and `sequence_of`: which sequence numbers a receiver missed."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard import errors
from hookyard.receiver.catchup import Gaps, sequence_of


@given(
    total=st.integers(1, 60),
    dropped=st.sets(st.integers(1, 60)),
    order=st.randoms(use_true_random=False),
    repeats=st.lists(st.integers(1, 60), max_size=20),
)
def test_missing_is_exactly_what_was_not_seen_below_the_highest(
    total: int, dropped: set[int], order: random.Random, repeats: list[int]
) -> None:
    arrived = [n for n in range(1, total + 1) if n not in dropped]
    arrived += [n for n in repeats if n in arrived]
    order.shuffle(arrived)
    gaps = Gaps()
    fresh = [n for n in arrived if gaps.see(n)]

    assert sorted(fresh) == sorted(set(arrived))
    highest = max(arrived, default=0)
    assert gaps.missing() == [n for n in range(1, highest) if n in dropped]
    first_gap = min([n for n in dropped if n <= total], default=total + 1)
    assert gaps.seen_up_to == min(first_gap - 1, highest)
    for n in gaps.missing():
        assert gaps.see(n)
    assert gaps.missing() == []
    assert gaps.seen_up_to == highest


def test_a_resumed_receiver_ignores_what_it_saw_before() -> None:
    gaps = Gaps(seen_up_to=10)
    assert not gaps.see(10)
    assert gaps.see(12)
    assert gaps.missing() == [11]


@pytest.mark.parametrize("value", ["", "x", "-1", "0", "1.5", "٣"])
def test_a_bad_sequence_header_is_a_clear_error(value: str) -> None:
    with pytest.raises(errors.InvalidInput, match="webhook-sequence"):
        sequence_of({"Webhook-Sequence": value} if value else {})


def test_the_sequence_header_is_read_in_any_case() -> None:
    assert sequence_of({"Webhook-Sequence": " 42 "}) == 42
