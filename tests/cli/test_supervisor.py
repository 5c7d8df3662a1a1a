"""The parent of `hookyard api --processes N`: its crash budget, and the supervisor with stand-in
processes (tiny Python programs) that crash, or will not stop. The real API processes are in
tests/e2e/test_api_processes.py."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard.cli import supervisor
from hookyard.cli.supervisor import CrashBudget, Supervisor
from tests.support.receiver import wait_until

WINDOW = 60.0


def _spent_at(times: list[float], allowed: int) -> int | None:
    """The index of the first exit with `allowed - 1` others in the window before it."""
    for index in range(allowed - 1, len(times)):
        if times[index] - times[index - allowed + 1] < WINDOW:
            return index
    return None


@given(st.lists(st.floats(min_value=0, max_value=30.0), max_size=40), st.integers(1, 6))
def test_the_budget_is_spent_by_the_first_exit_that_makes_allowed_within_the_window(
    gaps: list[float], allowed: int
) -> None:
    times = list(itertools.accumulate(gaps))
    budget = CrashBudget(allowed, WINDOW)
    spent = [budget.spent(budget.crashed(at)) for at in times]
    assert (spent.index(True) if True in spent else None) == _spent_at(times, allowed)


def test_an_exit_is_told_by_its_signal_or_its_code() -> None:
    assert supervisor.exit_reason(-9) == "killed by SIGKILL"
    assert supervisor.exit_reason(3) == "exited with code 3"


@contextmanager
def _listening() -> Iterator[socket.socket]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_processes_that_keep_dying_are_given_up_on_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with _listening() as sock, caplog.at_level(logging.INFO, logger=supervisor.log.name):
        running = Supervisor(_python("raise SystemExit(3)"), sock, 2)
        assert await asyncio.wait_for(running.run(), 60) == 1
    lines = [record.getMessage() for record in caplog.records]
    restarts = [line for line in lines if "starting another" in line]
    assert len(restarts) == 4, lines
    assert all("died unexpectedly (exited with code 3)" in line for line in restarts)
    (gave_up,) = [line for line in lines if "so hookyard gives up" in line]
    assert "5 unexpected exits within 60 s" in gave_up
    assert "exits 1" in gave_up


async def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    stubborn = _python(
        "import pathlib, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"pathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(60)\n"
    )
    with _listening() as sock, caplog.at_level(logging.INFO, logger=supervisor.log.name):
        running = Supervisor(stubborn, sock, 1, stop_seconds=0.2)
        task = asyncio.create_task(running.run())
        await wait_until(ready.exists, 30, "the stand-in ignoring SIGTERM")
        running.stop()
        assert await asyncio.wait_for(task, 30) == 1
    lines = [record.getMessage() for record in caplog.records]
    assert any("did not stop within 0.2 s of SIGTERM; killed it" in line for line in lines)
    assert not any("unexpectedly" in line for line in lines)
