"""`hookyard events publish` and `hookyard deliveries ...`, and `hookyard.publish(...)`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from typer.testing import CliRunner

import hookyard
from hookyard import config, errors, publishing
from hookyard.cli import main
from hookyard.store import Store
from tests.support import tenancy

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
COMPANY = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
URL = "https://callback.example/hook"


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOOKYARD_DATABASE_URL", database_url)
    monkeypatch.setenv("HOOKYARD_DATA_DIR", str(tmp_path / "data"))
    return database_url


def _setup(database_url: str) -> tenancy.Tenant:
    async def go() -> tenancy.Tenant:
        store = Store(database_url)
        try:
            tenant = await tenancy.add_tenant(store, unit=BU)
            await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", URL, partition=BU)
            await tenancy.subscribe(store, tenant, "heavyjob", "CostCodeCreated", URL)
            return tenant
        finally:
            await store.close()

    return asyncio.run(go())


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main.app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "events",
                "publish",
                "precon",
                "ProjectCreated",
                "--company",
                COMPANY,
                "--field",
                "oops",
            ],
            "NAME=VALUE",
        ),
        (["events", "publish", "precon", "Nope", "--company", COMPANY], "eventType"),
        (["events", "publish", "precon", "ProjectCreated", "--company", COMPANY], "businessUnitId"),
        (["events", "publish", "nope", "ProjectCreated", "--company", COMPANY], "no product"),
        (["deliveries", "list", "--state", "bogus"], "state"),
        (["deliveries", "show", "dlv_missing"], "no delivery"),
        (["deliveries", "recover", "--url", URL, "--since", "yesterday"], "ISO 8601"),
        (["deliveries", "recover", "--url", URL, "--since", "2026-11-29T06:00:00"], "zone"),
    ],
)
def test_bad_commands_say_what_to_fix(cli_env: str, args: list[str], message: str) -> None:
    code, _out, err = _invoke(*args)
    assert code != 0
    assert message in err


def test_publish_list_show_redeliver_recover(cli_env: str) -> None:
    tenant = _setup(cli_env)
    publish = (
        "events",
        "publish",
        "precon",
        "ProjectCreated",
        "--company",
        tenant.company_id,
        "--business-unit",
        BU,
        "--field",
        "projectId=p-9",
        "--idempotency-key",
        "k",
        "--json",
    )
    code, out, err = _invoke(*publish)
    assert code == 0, err
    published = json.loads(out)
    assert (published["deliveries"], published["duplicate"]) == (1, False)
    again = json.loads(_invoke(*publish)[1])
    assert (again["eventId"], again["duplicate"]) == (published["eventId"], True)
    code, out, _ = _invoke(
        "events",
        "publish",
        "heavyjob",
        "CostCodeCreated",
        "--company",
        tenant.company_id,
        "--job",
        "a5f3c0de-1111-4a4a-8b8b-000000000001",
        "--field",
        "costCodeId=cc",
    )
    assert code == 0
    assert "(1 deliveries)" in out
    listed = json.loads(_invoke("deliveries", "list", "--json")[1])
    assert len(listed) == 2
    mine = json.loads(
        _invoke(
            "deliveries",
            "list",
            "--client",
            tenant.client_id,
            "--event",
            published["eventId"],
            "--json",
        )[1]
    )
    (delivery,) = mine
    assert delivery["state"] == "pending"
    assert json.loads(_invoke("deliveries", "list", "--client", "hyc_other", "--json")[1]) == []
    shown = json.loads(_invoke("deliveries", "show", delivery["id"], "--json")[1])
    assert shown["attempts"] == []
    code, out, _ = _invoke("deliveries", "redeliver", delivery["id"])
    assert code == 0
    assert "queued again" in out
    code, out, _ = _invoke(
        "deliveries", "recover", "--url", URL, "--since", "2026-01-01T00:00:00Z", "--json"
    )
    assert code == 0
    assert json.loads(out) == {"recovered": 0}


async def test_hookyard_publish_in_process(store: Store, database_url: str, tmp_path: Path) -> None:
    tenant = await tenancy.add_tenant(store, unit=BU)
    await tenancy.subscribe(store, tenant, "precon", "ProjectCreated", URL, partition=BU)
    settings = config.Settings(database_url=database_url, data_dir=tmp_path)
    fields = {"businessUnitId": BU, "projectId": "p-1"}
    try:
        first = await hookyard.publish(
            "precon",
            "ProjectCreated",
            company_id=tenant.company_id,
            fields=fields,
            idempotency_key="once",
            settings=settings,
        )
        again = await hookyard.publish(
            "precon",
            "ProjectCreated",
            company_id=tenant.company_id,
            fields=fields,
            idempotency_key="once",
            settings=settings,
            store=store,
        )
        with pytest.raises(errors.InvalidInput):
            await hookyard.publish(
                "precon", "ProjectCreated", company_id=tenant.company_id, settings=settings
            )
    finally:
        await publishing.close()
    assert first == again
    assert await store.events.count() == 1
    assert len(await tenancy.delivery_states(store)) == 1


async def test_hookyard_publish_looks_a_business_unit_up_once_per_store(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    """Repeated in-process publishes to one store read the business unit they name once: the
    statements the real engine runs are counted from the second publish on."""
    tenant = await tenancy.add_tenant(store, unit=BU)
    settings = config.Settings(database_url=database_url, data_dir=tmp_path)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    async def publish(project: str) -> str:
        fields = {"businessUnitId": BU, "projectId": project}
        # `hookyard.publish` is the package's lazy `__getattr__` (Any); its signature is
        # `hookyard.publishing.publish`'s.
        event_id: str = await hookyard.publish(
            "precon",
            "ProjectCreated",
            company_id=tenant.company_id,
            fields=fields,
            settings=settings,
            store=store,
        )
        return event_id

    await publish("p-1")
    engine = store.db.reader.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for n in range(3):
            await publish(f"p-{n + 2}")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [s for s in statements if "business_units" in s] == []
    assert await store.events.count() == 4


def test_importing_hookyard_loads_nothing_of_the_server() -> None:
    code = "import sys, hookyard; print(sorted(m for m in sys.modules if m.startswith('hookyard')))"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "['hookyard']"
    assert callable(hookyard.publish)
