"""What a worker runs beside its deliveries (url probing, pruning), kept running like its own side
tasks: a pass that fails is logged once, run again after the backoff and said to work again,
while deliveries go on; a loop that cannot be kept running stops the worker."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from hookyard import retry
from hookyard.cli import worker as worker_command
from hookyard.clock import utcnow
from hookyard.config import Settings
from hookyard.delivery import http, netguard
from hookyard.delivery.prober import Prober
from hookyard.delivery.probing import Probing
from hookyard.delivery.pruner import Pruner, PrunerConfig
from hookyard.delivery.sender import Sender
from hookyard.delivery.supervision import Backoff, SideTask, SideTaskFailed
from hookyard.delivery.worker import Worker
from hookyard.probe_schedule import ProbeSchedule
from hookyard.services.probes import UrlProbes
from hookyard.store import Store, schema
from tests.support import engine, tenancy
from tests.support.receiver import Receiver

# Publishing needs a GUID business unit (setups events are not checked against the company's).
BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
FAST = Backoff(first=0.01, cap=0.05)
FAILED_PASSES = 6
"""More failed passes than the 5 deaths in a row after which a side task is given up on."""
LOOPBACK = netguard.Guard.build(allow_private=True)


class Clock:
    """A clock `ahead` of now that raises while `failing`: every pass that reads it fails."""

    def __init__(self, ahead: timedelta) -> None:
        self.ahead = ahead
        self.failing = True

    def __call__(self) -> datetime:
        if self.failing:
            raise RuntimeError("the clock is away")
        return utcnow() + self.ahead


async def _stopped(store: Store, receiver: Receiver) -> str:
    """A Stopped record of the receiver's /stopped url, reactivated by a passing probe."""
    tenant = await tenancy.add_tenant(store)
    url = receiver.url("/stopped")
    record = await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", url)
    async with store.db.write() as connection:
        await connection.execute(
            update(schema.subscriptions)
            .where(schema.subscriptions.c.id == record)
            .values(status="Stopped", stop_reason="5 tries failed", auto_reactivate=True)
        )
    return record


async def _deliveries_go_on(store: Store, receiver: Receiver, count: int = 3) -> None:
    """`count` events published to the receiver's /live url are delivered."""
    tenant = await tenancy.add_tenant(store)
    await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", receiver.url("/live"))
    company = tenant.company_id
    events = [
        {"eventType": "EmployeeCreated", "companyId": company, "businessUnitId": BU, "id": str(n)}
        for n in range(count)
    ]
    await engine.events(store).publish_many("setups", events, publisher_id="p")
    await receiver.wait_for(lambda: len(receiver.posts("/live")) == count, what="the deliveries")


def _lines(caplog: pytest.LogCaptureFixture, logger: str, what: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and what in r.getMessage()]


async def test_a_failing_probe_pass_is_retried_and_deliveries_go_on(
    store: Store, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    record = await _stopped(store, receiver)
    clock = Clock(ahead=timedelta(hours=2))
    probes = UrlProbes(store, Prober(LOOPBACK, timeout=5), ProbeSchedule(), now=clock)
    probing = Probing(probes, period=0.05, backoff=FAST)

    async def failing() -> bool:
        return probing.failures >= FAILED_PASSES

    async def recovered() -> bool:
        return (await tenancy.subscription_status(store, record))[0] == "Active"

    beside = [SideTask("probe loop", probing.run)]
    with caplog.at_level(logging.INFO):
        async with engine.running_worker(store, beside=beside):
            await engine.eventually(failing, what="failed probe passes")
            await _deliveries_go_on(store, receiver)
            assert probing.failures >= FAILED_PASSES, "still failing while the deliveries went"
            clock.failing = False
            await engine.eventually(recovered, what="the Stopped url probed and reactivated")
    assert len(receiver.received("GET", "/stopped")) == 1
    (failed,) = _lines(caplog, "hookyard.probes", "failed")
    assert failed.startswith("probing Stopped urls failed: the clock is away")
    (again,) = _lines(caplog, "hookyard.probes", "working again")
    assert again.startswith("probing Stopped urls: working again after ")
    assert not _lines(caplog, "hookyard.delivery", "restarting"), "a failed pass is no death"


async def test_a_failing_prune_pass_is_retried_and_deliveries_go_on(
    store: Store, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(ahead=timedelta(days=91))
    config = PrunerConfig(interval_seconds=0.05)
    pruner = Pruner(store.retention, config, now=clock, backoff=FAST)

    async def failing() -> bool:
        return pruner.failures >= FAILED_PASSES

    async def pruned() -> bool:
        return pruner.pruned.deliveries == 3

    with caplog.at_level(logging.INFO):
        async with engine.running_worker(store, beside=[SideTask("pruner", pruner.run)]):
            await engine.eventually(failing, what="failed prune passes")
            await _deliveries_go_on(store, receiver)
            assert pruner.failures >= FAILED_PASSES, "still failing while the deliveries went"
            clock.failing = False
            await engine.eventually(pruned, what="the settled deliveries pruned")
    (failed,) = _lines(caplog, "hookyard.pruner", "failed")
    assert failed.startswith("pruning failed: the clock is away")
    (again,) = _lines(caplog, "hookyard.pruner", "working again")
    assert again.startswith("pruning: working again after ")
    assert not _lines(caplog, "hookyard.delivery", "restarting"), "a failed pass is no death"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_task_beside_that_cannot_be_kept_running_stops_the_worker(store: Store) -> None:
    async def broken(_stop: asyncio.Event) -> None:
        raise RuntimeError("a bug in the loop")

    async with http.client_session(LOOPBACK) as session:
        worker = Worker(
            store, Sender(session, timeout=2), retry.Policy(), engine.FAST, backoff=FAST
        )
        run = worker.run(asyncio.Event(), [SideTask("broken loop", broken)])
        with pytest.raises(SideTaskFailed, match="the broken loop failed 5 times in a row"):
            await asyncio.wait_for(run, 30)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_worker_probes_and_prunes_unless_pruning_is_off(settings: Settings) -> None:
    store = Store.from_settings(settings)
    names = [task.name for task in worker_command.beside(settings, store, LOOPBACK)]
    assert names == ["probe loop", "pruner"]
    off = settings.model_copy(update={"prune_interval_seconds": 0})
    assert [task.name for task in worker_command.beside(off, store, LOOPBACK)] == ["probe loop"]
    asyncio.run(store.close())
