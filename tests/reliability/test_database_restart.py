"""PostgreSQL restarted under load, on a private cluster this test starts (never the machine's
shared server), with `hookyard api` and `hookyard worker` as separate processes so that the
worker's wake-ups come through `LISTEN`: publishes during the outage are refused (never
half-accepted), and every accepted event is delivered once the database is back, without either
process being restarted."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.reliability import harness
from tests.reliability.receivers import Flaps, Receivers
from tests.support import processes
from tests.support.receiver import wait_until

pytestmark = pytest.mark.reliability

RECEIVERS = 4
POLL_SECONDS = "5"
"""Long, so that a wake-up lost with the old LISTEN connection shows as seconds of latency."""


@pytest.mark.timeout(300)
async def test_postgres_restart_under_load(tmp_path: Path) -> None:
    from tests.support import pgcluster

    problem = pgcluster.problem()
    assert problem is None, problem
    events = 1500
    with pgcluster.running() as cluster:
        url = await asyncio.to_thread(cluster.create_database)
        async with (
            Receivers(RECEIVERS, Flaps(delay_seconds=0.005)) as receivers,
            harness.deployment(
                url, tmp_path, HOOKYARD_POLL_INTERVAL_SECONDS=POLL_SECONDS
            ) as deployed,
        ):
            await deployed.subscribe(receivers.urls())
            port = processes.free_port()
            base = f"http://127.0.0.1:{port}"
            with harness.Hookyard(deployed, tmp_path / "run") as hookyard:
                await hookyard.serve(port, "api")
                hookyard.start("worker")
                publisher = harness.Publisher(deployed, base, batch=20)
                publishing = asyncio.create_task(publisher.publish(events, pause=0.01))
                await wait_until(lambda: len(publisher.accepted) >= events // 5, 90, "load")
                fault = time.monotonic()
                await asyncio.to_thread(cluster.restart)
                await publishing
                final, took = await harness.until_at_rest(
                    deployed, publisher, receivers, per_event=RECEIVERS, timeout=120, since=fault
                )
                latency = await _publish_to_receipt(deployed, publisher, receivers)
    result = harness.report("PostgreSQL restart under load", "postgres", publisher, final, took)
    result.notes.append(f"{publisher.refused} events refused during the outage")
    result.notes.append(f"publish-to-receipt after the restart: {latency * 1000:.0f} ms")
    harness.assert_nothing_lost(result)


async def _publish_to_receipt(
    deployed: harness.Deployment, publisher: harness.Publisher, receivers: Receivers
) -> float:
    """Seconds from one more publish to its last delivery's receipt (a wake-up, or the poll)."""
    before = receivers.total_answered()
    started = time.monotonic()
    await publisher.publish(1)
    await wait_until(lambda: receivers.total_answered() >= before + RECEIVERS, 30, "receipt")
    return time.monotonic() - started
