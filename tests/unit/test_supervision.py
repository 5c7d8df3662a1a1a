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
