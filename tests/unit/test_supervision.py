"""Backoff, one log line per kind of failure, and side tasks kept running or given up on."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard import errors
from hookyard.delivery import supervision
from hookyard.delivery.supervision import Backoff, Repeats

log = logging.getLogger("tests.supervision")
INSTANT = Backoff(first=0.0, cap=0.0)


@given(st.integers(min_value=1, max_value=10_000))
def test_backoff_doubles_from_its_first_delay_and_never_passes_its_cap(failures: int) -> None:
    backoff = Backoff(first=0.1, cap=30.0)
    delay = backoff.delay(failures)
    assert 0.1 <= delay <= 30.0
    assert delay <= backoff.delay(failures + 1)
    if failures < 5:
        assert delay == pytest.approx(0.1 * 2 ** (failures - 1))


def test_a_repeated_failure_is_logged_once_then_counted(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    repeats = Repeats(log, lambda: now[0])
    with caplog.at_level(logging.INFO, logger=log.name):
        for _ in range(300):
            repeats.failed("claim", "claiming failed", errors.Unavailable("db away"))
        now[0] = 61.0
        repeats.failed("claim", "claiming failed", errors.Unavailable("db away"))
        repeats.recovered("claim", "claiming")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "claiming failed: db away",
        "claiming failed: still failing, 301 times in a row: db away",
        "claiming: working again after 301 failures",
    ]
    assert not any(r.exc_info for r in caplog.records)


async def test_a_side_task_that_dies_is_started_again() -> None:
    runs: list[int] = []
    done = asyncio.Event()

    async def flaky() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("boom")
        done.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(
        supervision.keep_running("flaky", flaky, Repeats(log), backoff=INSTANT)
    )
    await asyncio.wait_for(done.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(runs) == 3


async def test_a_side_task_that_keeps_dying_is_given_up_on() -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    with pytest.raises(supervision.SideTaskFailed, match="failed 5 times"):
        await asyncio.wait_for(
            supervision.keep_running("broken", broken, Repeats(log), backoff=INSTANT), 10
        )


async def test_the_database_being_away_is_waited_out_however_long() -> None:
    failures: list[int] = []
    back = asyncio.Event()

    async def waiting() -> None:
        failures.append(1)
        if len(failures) < 50:
            raise errors.Unavailable("db away")
        back.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(
        supervision.keep_running("listener", waiting, Repeats(log), backoff=INSTANT)
    )
    await asyncio.wait_for(back.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_side_task_told_to_stop_ends_without_counting_as_dead() -> None:
    stop = asyncio.Event()
    runs: list[int] = []
    repeats = Repeats(log)

    async def returns() -> None:
        runs.append(1)
        if len(runs) == 2:
            stop.set()

    await asyncio.wait_for(
        supervision.keep_running("pass loop", returns, repeats, backoff=INSTANT, stop=stop), 10
    )
    assert len(runs) == 2
    assert repeats.count("pass loop") == 1, "the first run ended on its own, before the stop"


async def test_a_failing_pass_is_logged_once_retried_and_its_recovery_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The retry comes after the backoff, but never later than a period: the backoff's first
    delay (an hour) would time the test out."""
    stop = asyncio.Event()
    passes: list[int] = []

    async def flaky_pass() -> None:
        passes.append(1)
        if len(passes) <= 3:
            raise RuntimeError(f"boom {len(passes)}")
        stop.set()

    slow = Backoff(first=3600.0, cap=3600.0)
    repeats = Repeats(log)
    with caplog.at_level(logging.INFO, logger=log.name):
        every = supervision.every(0.01, flaky_pass, stop, repeats, "pruning", backoff=slow)
        await asyncio.wait_for(every, 10)
    assert len(passes) == 4
    assert [r.getMessage() for r in caplog.records] == [
        "pruning failed: boom 1",
        "pruning: working again after 3 failures",
    ]


async def test_passes_stop_when_told_and_the_pass_under_way_finishes() -> None:
    stop = asyncio.Event()
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[int] = []

    async def long_pass() -> None:
        started.set()
        await release.wait()
        finished.append(1)

    task = asyncio.create_task(supervision.every(3600.0, long_pass, stop, Repeats(log), "probing"))
    await asyncio.wait_for(started.wait(), 10)
    stop.set()
    release.set()
    await asyncio.wait_for(task, 10)
    assert finished == [1]
