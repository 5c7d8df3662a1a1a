"""Faults outside Hookyard's processes: receivers that flap, a record that cannot be prepared,
a worker whose clock runs ahead of the others'."""

from __future__ import annotations

import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hookyard import signing
from hookyard.clock import utcnow
from hookyard.store import schema
from tests.reliability import harness
from tests.reliability.receivers import Flaps, Receivers
from tests.support import processes

pytestmark = pytest.mark.reliability

RECEIVERS = 4
FLAPPING = Flaps(error=0.2, reset=0.05, hang=0.05, hang_seconds=1.0)
"""A try in three fails: a 500, a reset connection, or no answer within the delivery timeout."""
FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
LOG_LINES = 200
"""Most lines `serve` may log while one record fails: failures are counted, not each logged."""


def _database(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


async def _flapping(database_url: str, tmp_path: Path, events: int) -> harness.Report:
    async with (
        Receivers(RECEIVERS, FLAPPING) as receivers,
        harness.deployment(
            database_url, tmp_path, HOOKYARD_DELIVERY_TIMEOUT_SECONDS="0.5"
        ) as deployed,
    ):
        await deployed.subscribe(receivers.urls())
        port = processes.free_port()
        with harness.Hookyard(deployed, tmp_path / "run") as hookyard:
            await hookyard.serve(port)
            publisher = harness.Publisher(deployed, f"http://127.0.0.1:{port}", batch=25)
            await publisher.publish(events)
            published = time.monotonic()
            final, took = await harness.until_at_rest(
                deployed, publisher, receivers, per_event=RECEIVERS, timeout=100, since=published
            )
    result = harness.report("receivers that flap", _database(database_url), publisher, final, took)
    failures = receivers.failures()
    result.notes.append(f"receiver failures: {dict(failures)}")
    assert set(failures) == {"error", "reset", "hang"}, failures
    return result


@pytest.mark.slice
@pytest.mark.timeout(240)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_receivers_that_flap_quick(database_url: str, tmp_path: Path) -> None:
    harness.assert_nothing_lost(await _flapping(database_url, tmp_path, events=100))


@pytest.mark.timeout(300)
async def test_receivers_that_flap(database_url: str, tmp_path: Path) -> None:
    harness.assert_nothing_lost(await _flapping(database_url, tmp_path, events=800))


@pytest.mark.timeout(300)
async def test_a_poison_record_among_healthy_ones(database_url: str, tmp_path: Path) -> None:
    """A subscription whose sealed secret does not open (sealed for another record, as after a
    bad restore) fails alone: its deliveries end failed or held, every other one is delivered."""
    events = 300
    async with (
        Receivers(RECEIVERS + 1) as receivers,
        harness.deployment(database_url, tmp_path) as deployed,
    ):
        *healthy, poisoned = receivers.all
        await deployed.subscribe([r.url() for r in healthy])
        unopenable = deployed.store.sealer.seal(signing.generate_secret(), "another-record")
        await deployed.subscribe([poisoned.url()], secret=unopenable)
        port = processes.free_port()
        with harness.Hookyard(deployed, tmp_path / "run") as hookyard:
            served = await hookyard.serve(port)
            publisher = harness.Publisher(deployed, f"http://127.0.0.1:{port}", batch=25)
            started = time.monotonic()
            await publisher.publish(events)
            final, took = await harness.until_at_rest(
                deployed,
                publisher,
                receivers,
                per_event=RECEIVERS + 1,
                timeout=100,
                since=started,
            )
            log_lines = len(served.errors.splitlines())
    result = harness.report(
        "a poison record among healthy ones", _database(database_url), publisher, final, took
    )
    result.notes.append(f"serve logged {log_lines} lines")
    harness.assert_nothing_lost(result)
    assert poisoned.requests == 0
    assert result.held == events, "every delivery of the poison record ends failed or held"
    assert result.delivered == events * RECEIVERS
    assert log_lines < LOG_LINES, served.errors[-2000:]


@pytest.mark.postgres
@pytest.mark.timeout(300)
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_worker_whose_clock_runs_ahead(database_url: str, tmp_path: Path) -> None:
    """Two workers, one 30 s ahead (libfaketime, wall clock only). Leases and due times are the
    database's, so the skewed worker takes over no live lease and runs no retry early: nothing
    is lost, nothing stays stuck, and no delivery is sent twice (the receivers fail only with
    500s, which are retried, never with an answer that is lost)."""
    assert FAKETIME.exists(), f"{FAKETIME} is missing: `make faketime` (root) installs it"
    events = 600
    ahead = {
        "LD_PRELOAD": str(FAKETIME),
        "FAKETIME": "+30s",
        "DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_DONT_RESET": "1",
    }
    async with (
        Receivers(RECEIVERS, Flaps(delay_seconds=0.005, error=0.1)) as receivers,
        harness.deployment(database_url, tmp_path) as deployed,
    ):
        await deployed.subscribe(receivers.urls())
        port = processes.free_port()
        with harness.Hookyard(deployed, tmp_path / "run") as hookyard:
            await hookyard.serve(port, "api")
            hookyard.start("worker")
            skewed = hookyard.start("worker", **ahead)
            publisher = harness.Publisher(deployed, f"http://127.0.0.1:{port}", batch=25)
            started = time.monotonic()
            await publisher.publish(events)
            final, took = await harness.until_at_rest(
                deployed, publisher, receivers, per_event=RECEIVERS, timeout=120, since=started
            )
            assert skewed.stop(signal.SIGTERM) == 0, skewed.errors[-2000:]
        async with deployed.store.db.read() as connection:
            latest = select(func.max(schema.attempts.c.started_at))
            last_try = (await connection.execute(latest)).scalar_one()
    result = harness.report("a worker's clock 30 s ahead", "postgres", publisher, final, took)
    harness.assert_nothing_lost(result)
    assert last_try > utcnow() + timedelta(seconds=20), "the skewed worker made tries too"
    assert result.duplicated == 0, "the skewed worker took over leases of the other"
