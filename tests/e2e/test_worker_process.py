"""`hookyard worker` as a real process: SIGKILL under load loses nothing; SIGTERM exits 0."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from hookyard.store import Store
from tests.support import engine, processes, tenancy
from tests.support.receiver import Behaviour, Receiver

pytestmark = pytest.mark.slow

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"


def _env(database_url: str, directory: Path) -> dict[str, str]:
    return {
        "HOOKYARD_DATABASE_URL": database_url,
        "HOOKYARD_DATA_DIR": str(directory),
        "HOOKYARD_ALLOW_PRIVATE_CALLBACKS": "true",
        "HOOKYARD_LEASE_SECONDS": "1",
        "HOOKYARD_POLL_INTERVAL_SECONDS": "0.1",
        "HOOKYARD_RETRY_BASE_SECONDS": "0.05",
        "HOOKYARD_SHUTDOWN_GRACE_SECONDS": "5",
    }


def _events(company_id: str, start: int, count: int) -> list[dict[str, str]]:
    return [
        {
            "eventType": "EmployeeCreated",
            "companyId": company_id,
            "businessUnitId": BU,
            "id": str(i),
        }
        for i in range(start, start + count)
    ]


async def test_a_worker_killed_under_load_loses_nothing(
    store: Store, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    for path in ("/a", "/b"):
        await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", receiver.url(path))
    receiver.answer("/a", Behaviour(delay=0.01))
    receiver.answer("/b", Behaviour(status=500), Behaviour(delay=0.01))
    publisher = engine.events(store)
    accepted = 0
    for batch in range(3):
        accepted += sum(
            p.deliveries
            for p in await publisher.publish_many(
                "setups", _events(tenant.company_id, batch * 100, 100), publisher_id="load"
            )
        )
    env = _env(database_url, tmp_path)
    (tmp_path / "first").mkdir()
    with processes.running([*processes.HOOKYARD, "worker"], tmp_path / "first", env) as first:
        await receiver.wait_for(lambda: len(receiver.posts()) >= 100, timeout=60, what="load")
        for batch in range(3, 5):
            accepted += sum(
                p.deliveries
                for p in await publisher.publish_many(
                    "setups", _events(tenant.company_id, batch * 100, 100), publisher_id="load"
                )
            )
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    before_restart = {r.headers["webhook-id"] for r in receiver.posts()}
    assert len(before_restart) < accepted
    accepted += sum(
        p.deliveries
        for p in await publisher.publish_many(
            "setups", _events(tenant.company_id, 1000, 50), publisher_id="load"
        )
    )
    (tmp_path / "second").mkdir()
    with processes.running([*processes.HOOKYARD, "worker"], tmp_path / "second", env) as second:

        def all_delivered() -> bool:
            return len({r.headers["webhook-id"] for r in receiver.posts()}) == accepted

        await receiver.wait_for(all_delivered, timeout=90, what="every accepted delivery")

        async def all_recorded() -> bool:
            return set((await tenancy.delivery_states(store)).values()) == {"succeeded"}

        await engine.eventually(all_recorded, timeout=30, what="every delivery recorded")
        assert second.stop(signal.SIGTERM) == 0, second.errors
    assert accepted == 2 * 550
    assert set(await tenancy.delivery_states(store)) == {
        r.headers["webhook-id"] for r in receiver.posts()
    }
    assert "worker stopped" in second.errors


async def test_a_sigterm_while_the_worker_starts_is_a_clean_stop(
    database_url: str, tmp_path: Path
) -> None:
    """A supervisor may stop a worker that is still starting (migrating, checking its keys,
    connecting): it must stop gracefully and exit 0, not die of the signal (-15). The signal is
    sent as soon as the worker has said anything (its start-up warnings), which on the old code
    fell inside the seconds before its loop took signals over."""
    env = _env(database_url, tmp_path)
    with processes.running([*processes.HOOKYARD, "worker"], tmp_path, env) as worker:
        await engine.eventually(
            lambda: _said_something(worker), timeout=60, what="the worker's first log line"
        )
        assert worker.stop(signal.SIGTERM) == 0, worker.errors
    assert "worker stopped" in worker.errors


async def _said_something(process: processes.Process) -> bool:
    return bool(process.errors.strip())
