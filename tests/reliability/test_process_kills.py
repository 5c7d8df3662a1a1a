"""Processes killed with SIGKILL: a worker under load, `serve` in the middle of publishing.

Nothing accepted may be lost: a 202 means the event and its deliveries were committed, and a
lease that dies with its worker expires and lets another take the delivery over.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from tests.reliability import harness
from tests.reliability.receivers import Flaps, Receivers
from tests.support import processes
from tests.support.receiver import wait_until

pytestmark = pytest.mark.reliability

RECEIVERS = 4
SLOW = Flaps(delay_seconds=0.005)


@pytest.mark.postgres
@pytest.mark.timeout(300)
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_sigkill_of_one_of_two_workers_under_load(database_url: str, tmp_path: Path) -> None:
    events = 1500
    async with (
        Receivers(RECEIVERS, SLOW) as receivers,
        harness.deployment(database_url, tmp_path) as deployed,
    ):
        await deployed.subscribe(receivers.urls())
        port = processes.free_port()
        with harness.Hookyard(deployed, tmp_path / "run") as hookyard:
            await hookyard.serve(port, "api")
            doomed = hookyard.start("worker")
            hookyard.start("worker")
            publisher = harness.Publisher(deployed, f"http://127.0.0.1:{port}", batch=50)
            await publisher.publish(events // 2)
            await wait_until(lambda: receivers.total_answered() >= 500, 90, "deliveries under way")
            assert doomed.stop(signal.SIGKILL) == -signal.SIGKILL
            fault = time.monotonic()
            await publisher.publish(events // 2)
            final, took = await harness.until_at_rest(
                deployed, publisher, receivers, per_event=RECEIVERS, timeout=150, since=fault
            )
    result = harness.report("SIGKILL one of two workers", "postgres", publisher, final, took)
    harness.assert_nothing_lost(result)


async def _serve_killed_mid_publish(
    database_url: str, tmp_path: Path, database: str, events: int
) -> harness.Report:
    async with (
        Receivers(RECEIVERS, SLOW) as receivers,
        harness.deployment(database_url, tmp_path) as deployed,
    ):
        await deployed.subscribe(receivers.urls())
        port = processes.free_port()
        base = f"http://127.0.0.1:{port}"
        publisher = harness.Publisher(deployed, base, batch=20)
        with harness.Hookyard(deployed, tmp_path / "run") as hookyard:
            served = await hookyard.serve(port)
            publishing = asyncio.create_task(publisher.publish(events))
            await wait_until(lambda: len(publisher.accepted) >= events // 4, 90, "a quarter in")
            assert served.stop(signal.SIGKILL) == -signal.SIGKILL
            fault = time.monotonic()
            await publishing
            await hookyard.serve(port)
            await publisher.publish(events // 4)
            final, took = await harness.until_at_rest(
                deployed, publisher, receivers, per_event=RECEIVERS, timeout=90, since=fault
            )
    result = harness.report("SIGKILL of serve mid-publish", database, publisher, final, took)
    assert publisher.refused > 0, "the kill should have refused some publishes"
    return result


@pytest.mark.slice
@pytest.mark.timeout(240)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sigkill_of_serve_mid_publish_quick(database_url: str, tmp_path: Path) -> None:
    result = await _serve_killed_mid_publish(database_url, tmp_path, "sqlite", events=200)
    harness.assert_nothing_lost(result)


@pytest.mark.timeout(300)
async def test_sigkill_of_serve_mid_publish(database_url: str, tmp_path: Path) -> None:
    database = "sqlite" if database_url.startswith("sqlite") else "postgres"
    result = await _serve_killed_mid_publish(database_url, tmp_path, database, events=2000)
    harness.assert_nothing_lost(result)
