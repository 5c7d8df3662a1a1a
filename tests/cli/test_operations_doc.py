"""Every `hookyard ...` command docs/operations.md shows runs as written, with the doc's example
urls and ids replaced by a local receiver and records made for the test."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

import pytest

from hookyard import errors
from hookyard.cli import runtime as runtimes
from hookyard.services.subscriptions import SubscriptionRequest
from hookyard.store.subscriptions import Owner
from tests.support.actors import OPERATOR
from tests.support.cli import Cli
from tests.support.receiver import Receiver
from tests.support.tenants import make_tenant

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented_commands() -> list[str]:
    """The `hookyard` lines of the doc's sh blocks, comments dropped, in order."""
    commands, in_sh = [], False
    for line in DOC.read_text("utf-8").splitlines():
        if line.startswith("```"):
            in_sh = line.strip() == "```sh"
            continue
        if in_sh and line.startswith("hookyard "):
            commands.append(line.split("  #", 1)[0].strip())
    return commands


async def _records(cli: Cli, receiver: Receiver) -> tuple[str, str]:
    """A subscription record, and a pending approval request; their ids."""
    wired = runtimes.build(cli.settings)
    try:
        tenant = await make_tenant(wired)
        product = wired.catalog.products["setups"]
        owner = Owner(tenant.client_id, "setups", tenant.company.id)
        request = SubscriptionRequest(receiver.url("/hook"), ["EmployeeCreated"])
        await wired.subscriptions.subscribe(owner, product, request, replace=False)
        (record,) = await wired.store.subscriptions.of_client(tenant.client_id)
        with pytest.raises(errors.ApprovalRequired):
            await wired.approvals.gate(owner, "https://shop.azurewebsites.net/hook")
        (approval,) = await wired.approvals.listed(OPERATOR, "pending")
        return record.id, approval.id
    finally:
        await wired.close()


async def test_the_documented_commands_run(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    cli = Cli(
        database_url,
        tmp_path / "data",
        allow_private_callbacks="true",
        approval_hosts="*.azurewebsites.net",
    )
    cli.settings = cli.settings.model_copy(
        update={"allow_private_callbacks": True, "approval_hosts": ["*.azurewebsites.net"]}
    )
    record_id, approval_id = await _records(cli, receiver)
    base = receiver.url("")
    commands = documented_commands()
    assert len(commands) >= 9, commands
    for command in commands:
        text = command.replace("https://ops.paving.example", base)
        text = text.replace("6f1c...", record_id).replace("apr_01J...", approval_id)
        result = await asyncio.to_thread(cli, *shlex.split(text)[1:])
        assert result.exit_code == 0, f"{command}: {result.output}"
