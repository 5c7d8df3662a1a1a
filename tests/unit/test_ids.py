"""Prefixed ULIDs: the form, unique, sorted by time, and distinct in a forked child."""

from __future__ import annotations

import multiprocessing
import re
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hookyard import ids

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def test_ulids_have_the_form_and_are_unique() -> None:
    made = [ids.ulid() for _ in range(20_000)]
    assert all(ULID.match(value) for value in made)
    assert len(set(made)) == len(made)
    assert ids.prefixed(ids.ATTEMPT).startswith("att_")


def test_ulids_sort_by_their_millisecond() -> None:
    earlier = ids.ulid()
    later = ids.ulid()
    assert earlier[:10] <= later[:10]


def _child(pipe: multiprocessing.connection.Connection) -> None:
    pipe.send([ids.ulid()[10:] for _ in range(100)])


def test_a_forked_child_draws_other_random_bits() -> None:
    parent_end, child_end = multiprocessing.get_context("fork").Pipe()
    process = multiprocessing.get_context("fork").Process(target=_child, args=(child_end,))
    process.start()
    theirs = parent_end.recv()
    process.join(timeout=30)
    ours = [ids.ulid()[10:] for _ in range(100)]
    assert not set(theirs) & set(ours)


MILLISECONDS = st.integers(min_value=0, max_value=2**47)  # within datetime's range


@given(made=MILLISECONDS, cutoff=MILLISECONDS, bits=st.integers(0, 2**80 - 1))
def test_the_floor_of_a_moment_sorts_after_every_id_made_before_it(
    made: int, cutoff: int, bits: int
) -> None:
    made_then = f"{ids.EVENT}_{ids._encode(made << 80 | bits)}"
    floor = ids.floor(ids.EVENT, ids.EPOCH + timedelta(milliseconds=cutoff))
    assert (made_then < floor) == (made < cutoff)


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
    )
)
def test_an_id_floor_sorts_between_the_ids_before_and_after_its_time(when: datetime) -> None:
    floor = ids.floor(ids.DELIVERY, when)
    assert floor.startswith("dlv_")
    assert len(floor) == len(ids.prefixed(ids.DELIVERY))
    assert ids.floor(ids.DELIVERY, when - timedelta(milliseconds=1)) < floor
    assert floor < ids.floor(ids.DELIVERY, when + timedelta(milliseconds=1))


def test_an_id_made_now_sorts_between_the_floors_around_now() -> None:
    before = ids.floor(ids.DELIVERY, datetime.now(UTC) - timedelta(milliseconds=1))
    made = ids.prefixed(ids.DELIVERY)
    after = ids.floor(ids.DELIVERY, datetime.now(UTC) + timedelta(milliseconds=2))
    assert before < made < after
