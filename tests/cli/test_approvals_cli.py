"""`hookyard approvals list|approve|reject`: bad input refused with one line, every list as
--json, ids printed whole."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hookyard import errors
from hookyard.cli import runtime as runtimes
from hookyard.store.subscriptions import Owner
from tests.support.actors import OPERATOR
from tests.support.cli import Cli
from tests.support.tenants import make_tenant

URL = "https://shop-hooks.azurewebsites.net/hook"


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path / "data", approval_hosts="*.azurewebsites.net")


def _requested(cli: Cli) -> str:
    """A client asks for a host that needs approval (through the real gate); the request id."""

    async def ask() -> str:
        wired = runtimes.build(
            cli.settings.model_copy(update={"approval_hosts": ["*.azurewebsites.net"]})
        )
        try:
            tenant = await make_tenant(wired)
            owner = Owner(tenant.client_id, "setups", tenant.company.id)
            with pytest.raises(errors.ApprovalRequired):
                await wired.approvals.gate(owner, URL)
            (pending,) = await wired.approvals.listed(OPERATOR, "pending")
            return pending.id
        finally:
            await wired.close()

    return asyncio.run(ask())


def first_column(table: str) -> str:
    """The text of a Rich table's first column, its folded lines joined."""
    cells = [line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│")]
    return "".join(cells)


def test_an_unknown_request_is_refused(cli: Cli) -> None:
    cli.fails("approvals", "approve", "apr_nope", says="no approval request 'apr_nope'")
    cli.fails("approvals", "reject", "apr_nope", "--reason", "x", says="no approval request")


def test_an_unknown_status_is_refused(cli: Cli) -> None:
    cli.fails("approvals", "list", "--status", "maybe", says="status: must be all, pending")


def test_a_reason_too_long_is_refused_and_nothing_changes(cli: Cli) -> None:
    request = _requested(cli)
    cli.fails("approvals", "reject", request, "--reason", "x" * 501, says="at most 500")
    assert [a["id"] for a in cli.json("approvals", "list")] == [request]


def test_list_approve_and_reject(cli: Cli) -> None:
    request = _requested(cli)
    (listed,) = cli.json("approvals", "list")
    assert (listed["id"], listed["status"], listed["host"]) == (
        request,
        "pending",
        "shop-hooks.azurewebsites.net",
    )
    table = cli("approvals", "list")
    assert table.exit_code == 0
    assert "…" not in table.stdout
    assert first_column(table.stdout) == request
    approved = cli.json("approvals", "approve", request, "--by", "dana")
    assert (approved["status"], approved["decided_by"]) == ("approved", "dana")
    assert cli.json("approvals", "list") == []
    rejected = cli.json("approvals", "reject", request, "--reason", "no longer used")
    assert (rejected["status"], rejected["reason"]) == ("rejected", "no longer used")
    assert [a["id"] for a in cli.json("approvals", "list", "--status", "all")] == [request]
    assert cli("approvals", "list").stdout.strip() == "no pending approval requests"
