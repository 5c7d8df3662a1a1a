"""`hookyard subscriptions list|show`, `partners list` and `alerts list|add|remove`: bad input
refused with one line and nothing changed, every list also as --json, ids printed whole."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from hookyard import clock, models
from hookyard.cli import runtime as runtimes
from hookyard.services.subscriptions import SubscriptionRequest
from hookyard.store.subscriptions import Owner
from tests.support.cli import Cli
from tests.support.receiver import Behaviour, Receiver
from tests.support.tenants import make_tenant

REASON = "5 tries failed; the last one: HTTP 503"


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path / "data", allow_private_callbacks="true")


def first_cells(table: str) -> str:
    """The body of a Rich table's first column, its folded lines joined (one row: its value)."""
    body = table.split("┡", 1)[1].splitlines()[1:]
    return "".join(line.split("│")[1].strip() for line in body if line.startswith("│"))


async def in_thread(cli: Cli, *args: str) -> Any:
    """`cli.json(...)` off the event loop (the CLI runs a loop of its own; the receiver needs
    this one free to answer a challenge)."""
    return await asyncio.to_thread(cli.json, *args)


async def _stopped_record(cli: Cli, receiver: Receiver) -> str:
    """A subscription record made through the real service, then Stopped with a reason."""
    wired = runtimes.build(cli.settings.model_copy(update={"allow_private_callbacks": True}))
    try:
        tenant = await make_tenant(wired)
        product = wired.catalog.products["setups"]
        owner = Owner(tenant.client_id, "setups", tenant.company.id)
        request = SubscriptionRequest(receiver.url(), ["EmployeeCreated"])
        await wired.subscriptions.subscribe(owner, product, request, replace=False)
        (record,) = await wired.store.subscriptions.of_client(tenant.client_id)
        stopped = dataclasses.replace(
            record,
            status=models.SubscriptionStatus.STOPPED,
            stop_reason=REASON,
            status_changed_at=clock.utcnow(),
        )
        await wired.store.subscriptions.save([], [stopped], client_limit=100)
        return record.id
    finally:
        await wired.close()


# Bad input first.


def test_bad_subscription_queries_are_refused(cli: Cli) -> None:
    cli.fails("subscriptions", "list", "--status", "Sleeping", says="status: must be one of")
    cli.fails("subscriptions", "list", "--limit", "0", says="limit: must be 1 to 1000")
    cli.fails("subscriptions", "show", "nope", says="no subscription 'nope'")


async def test_a_bad_alert_url_is_refused_and_nothing_is_added(
    cli: Cli, receiver: Receiver
) -> None:
    receiver.answer("/ops", Behaviour(status=404))
    result = await asyncio.to_thread(cli, "alerts", "add", receiver.url("/ops"))
    assert result.exit_code == 2
    assert "challenge" in result.stderr
    result = await asyncio.to_thread(
        cli, "alerts", "add", receiver.url("/x"), "--event-types", "delivery.exploded"
    )
    assert result.exit_code == 2
    assert "subscription.stopped" in result.stderr
    assert await in_thread(cli, "alerts", "list") == []
    result = await asyncio.to_thread(cli, "alerts", "remove", receiver.url("/ops"))
    assert result.exit_code == 1
    assert "no Active or Stopped" in result.stderr


# The commands.


async def test_subscriptions_list_and_show_the_stop_reason(cli: Cli, receiver: Receiver) -> None:
    record_id = await _stopped_record(cli, receiver)
    (listed,) = await in_thread(cli, "subscriptions", "list", "--status", "Stopped")
    assert (listed["id"], listed["stop_reason"]) == (record_id, REASON)
    assert "secret_key" not in listed
    shown = await in_thread(cli, "subscriptions", "show", record_id)
    assert shown["stop_reason"] == REASON
    text = (await asyncio.to_thread(cli, "subscriptions", "show", record_id)).stdout
    assert f"stop_reason:       {REASON}" in text
    table = (await asyncio.to_thread(cli, "subscriptions", "list")).stdout
    assert "…" not in table
    assert first_cells(table) == record_id
    assert await in_thread(cli, "subscriptions", "list", "--status", "Active") == []


def test_partners_list(cli: Cli) -> None:
    partner = cli.json("partners", "create", "Estimating Co")["id"]
    company = cli.company()
    cli.json("partners", "connect", "--partner", partner, "--company", company)
    (listed,) = cli.json("partners", "list")
    assert (listed["id"], listed["connected_companies"]) == (partner, [company])
    table = cli("partners", "list").stdout
    assert "…" not in table
    assert first_cells(table) == partner


async def test_alerts_add_list_remove(cli: Cli, receiver: Receiver) -> None:
    url = receiver.url("/ops")
    result = await asyncio.to_thread(
        cli, "alerts", "add", url, "--event-types", "subscription.stopped", "--json"
    )
    assert result.exit_code == 0, result.output
    assert len(receiver.received("GET", "/ops")) == 1
    (listed,) = await in_thread(cli, "alerts", "list")
    assert (listed["url"], listed["event_types"]) == (url, ["subscription.stopped"])
    assert "secret_key" not in listed
    assert await in_thread(cli, "alerts", "remove", url) == {"url": url, "removed": 1}
    assert await in_thread(cli, "alerts", "list") == []
