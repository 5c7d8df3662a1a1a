"""Retention: what `hookyard prune` and the worker's pruner delete, and what they never touch."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text, update
from typer.testing import CliRunner

from hookyard import retry
from hookyard.cli import main
from hookyard.clock import utcnow
from hookyard.config import Settings
from hookyard.delivery import supervision
from hookyard.delivery.pruner import Pruner, PrunerConfig
from hookyard.store import Store, schema
from hookyard.store.retention import PRUNED_TABLES as PRUNED
from hookyard.store.retention import Cutoffs, Pruned
from tests.support import engine, processes, tenancy
from tests.support.receiver import Behaviour, Receiver

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
OTHER_BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0002"
DAY = timedelta(days=1)
TWO_TRIES = retry.Policy(max_attempts=2, base_seconds=0.05, factor=2.0)


async def _tenant(store: Store) -> tenancy.Tenant:
    """A tenant whose company has the business units the tests publish to (publishing checks)."""
    tenant = await tenancy.add_tenant(store, unit=BU)
    await tenancy.add_unit(store, tenant, OTHER_BU)
    return tenant


def _event(tenant: tenancy.Tenant, business_unit: str = BU) -> dict[str, str]:
    return {
        "eventType": "ProjectCreated",
        "companyId": tenant.company_id,
        "businessUnitId": business_unit,
        "projectId": "p",
    }


async def _rows(store: Store) -> dict[str, int]:
    counts = {}
    async with store.db.read() as connection:
        for table in (schema.events, schema.deliveries, schema.attempts):
            statement = select(func.count()).select_from(table)
            counts[table.name] = (await connection.execute(statement)).scalar_one()
    return counts


async def _states(store: Store) -> Counter[str]:
    return Counter((await tenancy.delivery_states(store)).values())


async def _settle(
    store: Store, receiver: Receiver, tenant: tenancy.Tenant, events: int, *, again: bool = False
) -> None:
    """`events` events, each delivered to /ok (succeeds at once) and /bad (fails every try, which
    Stops its record: the rest are held), plus one event that matches no subscription; returns
    once every delivery is settled. `again`: the records are there already (and the tables were
    pruned empty since)."""
    for path in () if again else ("/ok", "/bad"):
        await tenancy.subscribe(
            store, tenant, "precon", "ProjectCreated", receiver.url(path), partition=BU
        )
    receiver.answer("/bad", Behaviour(status=500))
    service = engine.events(store)
    await service.publish_many("precon", [_event(tenant)] * events, publisher_id="pub")
    await service.publish("precon", _event(tenant, OTHER_BU), publisher_id="pub")

    async def settled() -> bool:
        states = await _states(store)
        return states["succeeded"] == events and states["failed"] + states["held"] == events

    async with engine.running_worker(store, policy=TWO_TRIES):
        await engine.eventually(settled, what="every delivery settled")


def _cutoffs(days_from_now: float, *, days: float = 30, failed_days: float = 90) -> Cutoffs:
    return Cutoffs.at(utcnow() + days_from_now * DAY, days=days, failed_days=failed_days)


def test_failed_deliveries_cannot_be_kept_shorter_than_succeeded_ones() -> None:
    with pytest.raises(ValidationError, match="HOOKYARD_RETENTION_FAILED_DAYS must be at least"):
        Settings(retention_days=30, retention_failed_days=7)


@pytest.mark.parametrize("setting", ["retention_days", "prune_batch"])
def test_retention_settings_refuse_nonsense(setting: str) -> None:
    with pytest.raises(ValidationError, match=setting):
        Settings.model_validate({setting: 0})


async def test_nothing_young_and_nothing_unsettled_is_pruned(
    store: Store, receiver: Receiver
) -> None:
    tenant = await _tenant(store)
    await _settle(store, receiver, tenant, 3)
    await tenancy.subscribe(
        store, tenant, "precon", "ProjectCreated", "http://q.test/h", partition=BU
    )
    await engine.events(store).publish("precon", _event(tenant), publisher_id="pub")
    before = await _rows(store)
    pending = (await _states(store))["pending"]
    assert pending == 2

    assert await store.retention.count(_cutoffs(0)) == Pruned()
    assert await store.retention.prune_batch(_cutoffs(0), 100) == Pruned()
    assert await _rows(store) == before
    far_future = _cutoffs(10_000)
    await store.retention.prune_batch(far_future, 100)
    assert await _states(store) == Counter(pending=pending)
    assert (await _rows(store))["events"] == 1


async def test_succeeded_go_first_failed_later_events_when_unreferenced(
    store: Store, receiver: Receiver
) -> None:
    tenant = await _tenant(store)
    await _settle(store, receiver, tenant, 5)
    rows = await _rows(store)
    assert rows["events"] == 6
    assert rows["deliveries"] == 10

    month = _cutoffs(31)
    assert await store.retention.count(month) == Pruned(deliveries=5, attempts=5, events=1)
    assert await store.retention.prune_batch(month, 100) == Pruned(5, 5, 1)
    assert (await _states(store))["succeeded"] == 0
    kept = await _rows(store)
    assert kept == {"events": 5, "deliveries": 5, "attempts": rows["attempts"] - 5}

    quarter = _cutoffs(91)
    expected = Pruned(deliveries=5, attempts=kept["attempts"], events=5)
    assert await store.retention.count(quarter) == expected
    assert await store.retention.prune_batch(quarter, 100) == expected
    assert await _rows(store) == {"events": 0, "deliveries": 0, "attempts": 0}


async def test_held_deliveries_are_kept_as_long_as_failed_ones(store: Store) -> None:
    tenant = await _tenant(store)
    await tenancy.subscribe(
        store, tenant, "precon", "ProjectCreated", "http://h.test/h", partition=BU
    )
    await engine.events(store).publish_many("precon", [_event(tenant)] * 4, publisher_id="pub")
    async with store.db.write() as connection:
        await connection.execute(update(schema.deliveries).values(state="held"))

    assert await store.retention.prune_batch(_cutoffs(31), 100) == Pruned()
    assert await store.retention.prune_batch(_cutoffs(91), 100) == Pruned(4, 0, 4)


async def test_a_batch_never_deletes_more_than_its_limit(store: Store, receiver: Receiver) -> None:
    tenant = await _tenant(store)
    await _settle(store, receiver, tenant, 7)
    everything = _cutoffs(91)
    assert (await store.retention.count(everything)).deliveries == 14

    expected = await store.retention.count(everything)

    seen: list[Pruned] = []
    pruner = Pruner(store.retention, PrunerConfig(batch=3), now=lambda: utcnow() + 91 * DAY)
    total = await pruner.prune(progress=seen.append)
    assert all(batch.deliveries <= 3 and batch.events <= 3 for batch in seen)
    assert len(seen) >= 5
    assert total == expected
    assert expected.events == 8
    assert await _rows(store) == {"events": 0, "deliveries": 0, "attempts": 0}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_pruners_side_by_side_delete_each_row_once(store: Store, receiver: Receiver) -> None:
    tenant = await _tenant(store)
    await _settle(store, receiver, tenant, 30)
    config = PrunerConfig(batch=4)
    pruners = [Pruner(store.retention, config, now=lambda: utcnow() + 91 * DAY) for _ in range(3)]
    expected = await store.retention.count(pruners[0].cutoffs())
    results = await asyncio.gather(*(pruner.prune() for pruner in pruners))
    # An event whose last deliveries two pruners deleted at once is left to the next pass.
    results.append(await pruners[0].prune())
    assert sum(results, Pruned()) == expected
    assert expected.deliveries == 60
    assert await _rows(store) == {"events": 0, "deliveries": 0, "attempts": 0}


async def _last_vacuum(store: Store, table: str) -> object:
    query = text("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = :table")
    async with store.db.read() as connection:
        return (await connection.execute(query, {"table": table})).scalar_one()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_with_autovacuum_off_a_pass_that_deletes_vacuums_the_pruned_tables(
    store: Store, receiver: Receiver
) -> None:
    """Rows deleted on PostgreSQL only free space once vacuumed: with autovacuum off for the
    pruned tables, the pruner vacuums them after a pass that deleted rows (not after one that
    deleted nothing)."""
    async with store.db.write() as connection:
        await connection.execute(text("ALTER TABLE deliveries SET (autovacuum_enabled = false)"))
    assert await store.retention.needs_vacuum()
    tenant = await _tenant(store)
    await _settle(store, receiver, tenant, 3)
    pruner = Pruner(store.retention, PrunerConfig(), now=lambda: utcnow() + 91 * DAY)
    assert (await pruner.prune()).deliveries == 6
    assert pruner.vacuums == 1
    assert await pruner.prune() == Pruned()
    assert pruner.vacuums == 1
    await _settle(store, receiver, tenant, 1, again=True)
    assert (await pruner.prune()).deliveries == 2
    assert pruner.vacuums == 1, "a second VACUUM within vacuum_interval_seconds"
    eager = Pruner(
        store.retention, PrunerConfig(vacuum_interval_seconds=0), now=lambda: utcnow() + 91 * DAY
    )
    for _ in range(2):
        await _settle(store, receiver, tenant, 1, again=True)
        assert (await eager.prune()).deliveries == 2
    assert eager.vacuums == 2

    async def vacuumed() -> bool:
        return all([await _last_vacuum(store, table) is not None for table in PRUNED])

    await engine.eventually(vacuumed, 10, "pg_stat_user_tables.last_vacuum of the pruned tables")


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_with_the_server_default_autovacuum_the_pruner_leaves_vacuuming_to_it(
    store: Store,
) -> None:
    async with store.db.read() as connection:
        server = (await connection.execute(text("SHOW autovacuum"))).scalar_one()
    assert await store.retention.needs_vacuum() == (server != "on")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_is_never_vacuumed_by_the_pruner(store: Store, receiver: Receiver) -> None:
    tenant = await _tenant(store)
    await _settle(store, receiver, tenant, 1)
    pruner = Pruner(store.retention, PrunerConfig(), now=lambda: utcnow() + 91 * DAY)
    assert (await pruner.prune()).deliveries == 2
    assert not await store.retention.needs_vacuum()
    assert pruner.vacuums == 0


async def test_the_worker_side_pruner_runs_until_stopped(store: Store, receiver: Receiver) -> None:
    tenant = await _tenant(store)
    await _settle(store, receiver, tenant, 2)
    config = PrunerConfig(interval_seconds=0.05)
    pruner = Pruner(store.retention, config, now=lambda: utcnow() + 91 * DAY)
    stop = asyncio.Event()
    task = asyncio.create_task(pruner.run(stop))

    async def emptied() -> bool:
        return await _rows(store) == {"events": 0, "deliveries": 0, "attempts": 0}

    await engine.eventually(emptied, what="the pruner emptied the tables")
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert pruner.pruned.deliveries == 4
    assert pruner.pruned.events == 3


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOOKYARD_DATABASE_URL", database_url)
    monkeypatch.setenv("HOOKYARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOOKYARD_RETENTION_DAYS", "0.000001")
    monkeypatch.setenv("HOOKYARD_RETENTION_FAILED_DAYS", "0.000001")
    return database_url


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main.app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_prune_refuses_a_bad_setting_and_deletes_nothing(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKYARD_RETENTION_DAYS", "40")
    code, _out, err = _invoke("prune")
    assert code == 2
    assert err.startswith("error: HOOKYARD_RETENTION_FAILED_DAYS must be at least")
    assert "HOOKYARD_RETENTION_FAILED_DAYS must be at least" in err
    assert "Traceback" not in err


def _counted_once_aged(*, deliveries: int, events: int, timeout: float = 10.0) -> dict[str, int]:
    """`prune --dry-run --json` once the rows just written are past the 86 ms retention: the
    last settled rows may be younger when it first runs (poll, with a deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        code, out, _ = _invoke("prune", "--dry-run", "--json")
        assert code == 0, out
        counted: dict[str, int] = json.loads(out)
        aged = counted["deliveries"] == deliveries and counted["events"] == events
        if aged or time.monotonic() > deadline:
            return counted
        time.sleep(0.02)


def test_prune_dry_run_counts_then_prune_deletes(cli_env: str) -> None:
    async def fill() -> None:
        store = Store(cli_env)
        receiver = await Receiver.start()
        try:
            tenant = await _tenant(store)
            await _settle(store, receiver, tenant, 3)
        finally:
            await receiver.stop()
            await store.close()

    asyncio.run(fill())
    counted = _counted_once_aged(deliveries=6, events=4)
    expected = {"deliveries": 6, "attempts": counted["attempts"], "events": 4}
    assert counted == {"dryRun": True, **expected}
    assert counted["attempts"] >= 6
    code, out, _ = _invoke("prune", "--dry-run")
    assert out.startswith("would delete (succeeded older than 1e-06 days")
    assert "deliveries             6" in out

    code, out, _ = _invoke("prune", "--json")
    assert code == 0, out
    assert json.loads(out) == {"dryRun": False, **expected}
    code, out, _ = _invoke("prune", "--dry-run", "--json")
    assert json.loads(out) == {"dryRun": True, "deliveries": 0, "attempts": 0, "events": 0}


def test_prune_says_so_in_one_line_when_the_database_cannot_be_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{processes.free_port()}/nowhere"
    monkeypatch.setenv("HOOKYARD_DATABASE_URL", url)
    monkeypatch.setenv("HOOKYARD_DATA_DIR", str(tmp_path / "data"))
    code, _out, err = _invoke("prune", "--dry-run")
    assert code == 1  # an unreachable database is not a usage error
    assert err.startswith(f"error: cannot reach the database at {url}: ")
    assert len(err.strip().splitlines()) == 1


async def test_a_failing_pass_is_logged_once_and_the_pruner_keeps_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Store(f"postgresql://postgres@127.0.0.1:{processes.free_port()}/nowhere")
    fast = supervision.Backoff(first=0.01, cap=0.02)
    pruner = Pruner(store.retention, PrunerConfig(interval_seconds=0.05), backoff=fast)
    stop = asyncio.Event()
    task = asyncio.create_task(pruner.run(stop))
    try:

        async def failed_thrice() -> bool:
            return pruner.failures >= 3

        with caplog.at_level("WARNING", logger="hookyard.pruner"):
            await engine.eventually(failed_thrice, what="three failed passes in a row")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await store.close()
    (line,) = caplog.records
    assert line.getMessage().startswith("pruning failed: The database cannot be reached")
    assert "\n" not in line.getMessage()
    assert not line.exc_info, "the database away is expected: no traceback"
    assert not task.cancelled()
    assert task.exception() is None
