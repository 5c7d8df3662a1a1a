"""The credentials CLI (companies, business units, clients, partners) with --json, on both
databases: each command's output, and bad input answered with a clear message, a non-zero exit
and nothing stored."""

from __future__ import annotations

import asyncio
import json
import shlex
from pathlib import Path

import pytest
from sqlalchemy import select

from hookyard.cli import runtime as runtimes
from hookyard.store import schema
from tests.support import tenancy
from tests.support.cli import Cli


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path / "data")


# Bad input first: a clear message, a non-zero exit, nothing stored.


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_company_name_is_refused(cli: Cli, name: str) -> None:
    cli.fails("companies", "create", name, says="name: must not be empty")
    assert cli.json("companies", "list") == []


def test_an_empty_partner_name_is_refused(cli: Cli) -> None:
    cli.fails("partners", "create", " ", says="name: must not be empty")


def test_a_business_unit_of_an_unknown_company_is_refused(cli: Cli) -> None:
    cli.fails(
        "business-units", "create", "--company", "nope", "--code", "BU1", says="no company 'nope'"
    )
    cli.fails("business-units", "list", "--company", "nope", says="no company 'nope'")


def test_a_duplicate_business_unit_code_is_refused(cli: Cli) -> None:
    company = cli.company()
    first = cli.unit(company, "BU1")
    cli.fails("business-units", "create", "--company", company, "--code", "BU1", says="already has")
    listed = cli.json("business-units", "list", "--company", company)
    assert [unit["id"] for unit in listed] == [first]


def test_an_empty_business_unit_code_is_refused(cli: Cli) -> None:
    company = cli.company()
    cli.fails(
        "business-units", "create", "--company", company, "--code", " ", says="code: must not"
    )
    assert cli.json("business-units", "list", "--company", company) == []


def test_a_client_of_an_unknown_company_is_refused(cli: Cli) -> None:
    cli.fails(
        "clients", "create", "--company", "nope", "--scopes", "precon:read", says="no company"
    )
    assert cli.json("clients", "list") == []


@pytest.mark.parametrize("scopes", ["precon:read bogus:read", "", "openid"])
def test_an_unknown_or_missing_scope_is_refused(cli: Cli, scopes: str) -> None:
    company = cli.company()
    cli.fails("clients", "create", "--company", company, "--scopes", scopes, says="scopes:")
    assert cli.json("clients", "list") == []


def test_the_unknown_scope_is_named_with_the_known_ones(cli: Cli) -> None:
    company = cli.company()
    result = cli.fails(
        "clients", "create", "--company", company, "--scopes", "bogus:read", says="bogus:read"
    )
    assert "precon:read" in result.stderr


def test_a_business_unit_of_another_company_is_refused(cli: Cli) -> None:
    mine, theirs = cli.company("Mine"), cli.company("Theirs")
    cli.unit(mine, "MINE")
    their_unit = cli.unit(theirs, "THEIRS")
    cli.fails(
        "clients",
        "create",
        "--company",
        mine,
        "--scopes",
        "precon:read",
        "--business-units",
        their_unit,
        says="is not a business unit of company",
    )
    assert cli.json("clients", "list") == []


def test_a_client_needs_exactly_one_of_company_and_partner(cli: Cli) -> None:
    company = cli.company()
    partner = cli.json("partners", "create", "Integrator")["id"]
    both = ["--company", company, "--partner", partner]
    cli.fails("clients", "create", *both, "--scopes", "precon:read", says="not both")
    cli.fails(
        "clients",
        "create",
        "--scopes",
        "precon:read",
        says="one of a company (--company) or a partner (--partner)",
    )
    assert cli.json("clients", "list") == []


@pytest.mark.parametrize("command", ["rotate-secret", "revoke"])
def test_rotating_or_revoking_an_unknown_client_is_refused(cli: Cli, command: str) -> None:
    cli.fails("clients", command, "hyc_nobody", says="no client 'hyc_nobody'")
    assert cli.json("clients", "list") == []


def test_connecting_an_unknown_partner_or_company_is_refused(cli: Cli) -> None:
    company = cli.company()
    partner = cli.json("partners", "create", "Integrator")["id"]
    cli.fails("partners", "connect", "--partner", "ptn_x", "--company", company, says="partner")
    cli.fails("partners", "connect", "--partner", partner, "--company", "nope", says="company")


# Each command with --json.


def test_companies_create_and_list(cli: Cli) -> None:
    created = cli.json("companies", "create", "Acme Paving")
    assert set(created) == {"id", "name"}
    assert created["name"] == "Acme Paving"
    listed = cli.json("companies", "list")
    assert [(c["id"], c["name"]) for c in listed] == [(created["id"], "Acme Paving")]
    assert listed[0]["date_created"].endswith("Z")


def test_companies_create_prints_the_id_without_json(cli: Cli) -> None:
    result = cli("companies", "create", "Acme Paving")
    assert result.exit_code == 0
    assert result.stdout.strip() == cli.json("companies", "list")[0]["id"]


def test_business_units_create_and_list(cli: Cli) -> None:
    company = cli.company()
    created = cli.json(
        "business-units", "create", "--company", company, "--code", "EAST", "--description", "East"
    )
    assert created == {"id": created["id"], "company_id": company, "code": "EAST"}
    listed = cli.json("business-units", "list", "--company", company)
    assert listed == [{"id": created["id"], "code": "EAST", "description": "East"}]


def test_clients_create_list_rotate_and_revoke(cli: Cli) -> None:
    company = cli.company()
    unit = cli.unit(company, "BU1")
    created = cli.json(
        "clients",
        "create",
        "--company",
        company,
        "--scopes",
        "precon:read dis:read",
        "--business-units",
        unit,
        "--name",
        "ERP sync",
    )
    assert set(created) == {"client_id", "client_secret"}
    client_id, secret = created["client_id"], created["client_secret"]
    assert cli.token_status(client_id, secret) == 200

    listed = cli.json("clients", "list", "--company", company)
    assert len(listed) == 1
    assert listed[0]["client_id"] == client_id
    assert listed[0]["name"] == "ERP sync"
    assert listed[0]["scopes"] == ["precon:read", "dis:read"]
    assert listed[0]["business_units"] == [unit]
    assert listed[0]["revoked_at"] is None
    assert secret not in json.dumps(listed)

    rotated = cli.json("clients", "rotate-secret", client_id)
    assert rotated["client_id"] == client_id
    assert rotated["client_secret"] != secret
    assert cli.token_status(client_id, secret) == 401
    assert cli.token_status(client_id, rotated["client_secret"]) == 200

    revoked = cli.json("clients", "revoke", client_id)
    assert revoked["client_id"] == client_id
    assert revoked["revoked_at"] is not None
    assert cli.token_status(client_id, rotated["client_secret"]) == 401
    cli.fails("clients", "rotate-secret", client_id, says="is revoked")


def test_clients_default_to_every_business_unit(cli: Cli) -> None:
    company = cli.company()
    cli.json("clients", "create", "--company", company, "--scopes", "heavyjob:read")
    assert cli.json("clients", "list")[0]["business_units"] == "all"


def test_clients_list_filters_by_company(cli: Cli) -> None:
    first, second = cli.company("First"), cli.company("Second")
    cli.json("clients", "create", "--company", first, "--scopes", "precon:read")
    cli.json("clients", "create", "--company", second, "--scopes", "precon:read")
    assert [c["company_id"] for c in cli.json("clients", "list", "--company", first)] == [first]
    assert len(cli.json("clients", "list")) == 2


def test_partners_create_connect_and_disconnect(cli: Cli) -> None:
    company = cli.company()
    partner = cli.json("partners", "create", "Integrator")
    assert set(partner) == {"id", "name"}
    client = cli.json("clients", "create", "--partner", partner["id"], "--scopes", "precon:read")
    assert cli.json("clients", "list")[0]["partner_id"] == partner["id"]
    assert client["client_secret"]

    pair = ["--partner", partner["id"], "--company", company]
    assert cli.json("partners", "connect", *pair)["changed"] is True
    assert cli.json("partners", "connect", *pair)["changed"] is False
    disconnected = cli.json("partners", "disconnect", *pair)
    assert disconnected == {
        "partner_id": partner["id"],
        "company_id": company,
        "connected": False,
        "changed": True,
    }


def _operational_events(cli: Cli, client_id: str) -> list[str]:
    """The operational events queued for a client's own alert urls, oldest first, as types."""

    async def read() -> list[str]:
        wired = runtimes.build(cli.settings)
        events = schema.events
        try:
            async with wired.store.db.read() as connection:
                rows = await connection.execute(
                    select(events.c.event_type)
                    .where(events.c.product == "hookyard", events.c.partition_value == client_id)
                    .order_by(events.c.id)
                )
                return list(rows.scalars())
        finally:
            await wired.close()

    return asyncio.run(read())


def test_partners_disconnect_and_connect_raise_stopped_and_reactivated(cli: Cli) -> None:
    company = cli.company()
    partner = cli.json("partners", "create", "Integrator")["id"]
    client = cli.json("clients", "create", "--partner", partner, "--scopes", "dis:read")[
        "client_id"
    ]
    pair = ["--partner", partner, "--company", company]
    cli.json("partners", "connect", *pair)

    async def subscribe() -> None:
        wired = runtimes.build(cli.settings)
        try:
            owner = tenancy.Tenant(company, client)
            await tenancy.subscribe(
                wired.store, owner, "setups", "EmployeeCreated", "http://p.test/"
            )
        finally:
            await wired.close()

    asyncio.run(subscribe())
    assert cli.json("partners", "disconnect", *pair)["changed"] is True
    assert _operational_events(cli, client) == ["subscription.stopped"]
    assert cli.json("partners", "connect", *pair)["changed"] is True
    assert _operational_events(cli, client) == ["subscription.stopped", "subscription.reactivated"]
    assert cli.json("partners", "connect", *pair)["changed"] is False
    assert len(_operational_events(cli, client)) == 2


def test_the_operator_client_of_the_security_doc_signs_in_as_operator(cli: Cli) -> None:
    """docs/security.md's migration command, run as written: the client it makes holds the
    operator role and nothing else."""
    text = (Path(__file__).parents[2] / "docs" / "security.md").read_text()
    (command,) = [line for line in text.splitlines() if "--scopes hookyard:operator" in line]
    args = shlex.split(command.replace('"$ops_company"', cli.company("Operators")))
    assert args[0] == "hookyard"
    made = cli.json(*args[1:])
    (client,) = [c for c in cli.json("clients", "list") if c["client_id"] == made["client_id"]]
    assert client["scopes"] == ["hookyard:operator"]
    assert cli.token_status(made["client_id"], made["client_secret"]) == 200
