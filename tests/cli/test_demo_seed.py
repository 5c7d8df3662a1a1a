"""Demo seeding on both databases: idempotent, and it recovers a lost or revoked demo client."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hookyard.cli import demo
from hookyard.cli.runtime import Runtime


async def test_seeding_twice_reuses_the_tenant_and_the_client(runtime: Runtime) -> None:
    first = await demo.seed(runtime)
    second = await demo.seed(runtime)
    assert not first.reused_company
    assert not first.reused_client
    assert second.reused_company
    assert second.reused_client
    assert second.company == first.company
    assert second.units == first.units
    assert second.client == first.client
    assert [u.code for u in first.units] == ["DEMO-EAST", "DEMO-WEST"]
    assert len(await runtime.store.tenants.companies()) == 1
    assert len(await runtime.store.tenants.business_units(first.company.id)) == 2
    assert len(await runtime.credentials.clients()) == 1
    client = await runtime.credentials.client(first.client.client_id)
    assert client.scopes == demo.DEMO_SCOPES
    assert client.all_business_units


async def test_the_saved_client_file_is_private(runtime: Runtime) -> None:
    tenant = await demo.seed(runtime)
    path = runtime.settings.data_dir / demo.DEMO_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo.load_saved(path) == tenant.client


async def test_a_lost_demo_file_gets_a_new_client_for_the_same_tenant(runtime: Runtime) -> None:
    first = await demo.seed(runtime)
    (runtime.settings.data_dir / demo.DEMO_FILE).unlink()
    second = await demo.seed(runtime)
    assert second.reused_company
    assert not second.reused_client
    assert second.client.client_id != first.client.client_id
    assert second.company == first.company


async def test_a_revoked_demo_client_is_replaced(runtime: Runtime) -> None:
    first = await demo.seed(runtime)
    await runtime.credentials.revoke(first.client.client_id)
    second = await demo.seed(runtime)
    assert not second.reused_client
    assert second.client.client_id != first.client.client_id


@pytest.mark.parametrize("content", ["", "not json", '{"client_id": 1}', "[]"])
def test_a_damaged_demo_file_reads_as_missing(tmp_path: Path, content: str) -> None:
    path = tmp_path / demo.DEMO_FILE
    path.write_text(content)
    assert demo.load_saved(path) is None
