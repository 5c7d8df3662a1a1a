"""The probe schedule of Stopped records: hourly for 72 hours by default, never early, never late
past the window, and never more probes than the window holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard.probe_schedule import ProbeSchedule

STOPPED = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def test_the_default_is_hourly_for_72_hours() -> None:
    schedule = ProbeSchedule()
    assert schedule.next_probe(STOPPED, None) == STOPPED + timedelta(hours=1)
    assert schedule.next_probe(STOPPED, STOPPED + timedelta(hours=71)) == STOPPED + timedelta(
        hours=72
    )
    assert schedule.next_probe(STOPPED, STOPPED + timedelta(hours=72)) is None
    assert schedule.most_probes == 72


def test_a_probe_before_the_stop_does_not_count() -> None:
    schedule = ProbeSchedule()
    earlier = STOPPED - timedelta(days=3)
    assert schedule.next_probe(STOPPED, earlier) == STOPPED + timedelta(hours=1)


@pytest.mark.parametrize(("interval", "window"), [(0, 10), (-1, 10), (1, -1)])
def test_a_bad_schedule_is_refused(interval: float, window: float) -> None:
    with pytest.raises(ValueError, match="probe"):
        ProbeSchedule(timedelta(seconds=interval), timedelta(seconds=window))


@given(
    interval=st.integers(1, 10_000),
    window=st.integers(0, 400_000),
    lateness=st.lists(st.integers(0, 5_000), max_size=500),
)
def test_a_worker_that_probes_whenever_due_stays_inside_the_window(
    interval: int, window: int, lateness: list[int]
) -> None:
    schedule = ProbeSchedule(timedelta(seconds=interval), timedelta(seconds=window))
    probes: list[datetime] = []
    last = None
    for late in lateness:
        due = schedule.next_probe(STOPPED, last)
        if due is None:
            break
        assert not schedule.due(STOPPED, last, due - timedelta(microseconds=1))
        assert schedule.due(STOPPED, last, due + timedelta(seconds=late))
        last = due + timedelta(seconds=late)
        probes.append(last)
    assert len(probes) <= schedule.most_probes
    for earlier, later in zip([STOPPED, *probes], probes, strict=False):
        assert later - earlier >= schedule.interval
    if probes:
        assert probes[0] >= STOPPED + schedule.interval
