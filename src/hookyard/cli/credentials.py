"""`hookyard companies|business-units|clients|partners`: the operator's HCSS Credentials."""

from __future__ import annotations

from typing import Any

import typer

from hookyard import clock, models
from hookyard.cli import options, tables
from hookyard.cli.tenancy import run

companies = typer.Typer(help="Companies (tenants).", no_args_is_help=True)
business_units = typer.Typer(help="Business units of a company.", no_args_is_help=True)
clients = typer.Typer(
    help="API clients: scopes, business-unit access, secrets.", no_args_is_help=True
)
partners = typer.Typer(help="Partners and the companies that connect them.", no_args_is_help=True)

JSON = options.JSON


def _client_view(client: models.Client) -> dict[str, Any]:
    return {
        "client_id": client.id,
        "name": client.name,
        "company_id": client.company_id,
        "partner_id": client.partner_id,
        "scopes": list(client.scopes),
        "business_units": "all" if client.all_business_units else list(client.business_units),
        "date_created": clock.isoformat(client.date_created),
        "revoked_at": clock.isoformat(client.revoked_at) if client.revoked_at else None,
    }


@companies.command("create")
def create_company(
    name: str = typer.Argument(..., help="The company's name."), as_json: bool = JSON
) -> None:
    """Create a company and print its id."""
    company = run(lambda rt: rt.credentials.create_company(name))
    options.emit({"id": company.id, "name": company.name}, as_json=as_json, text=company.id)


@companies.command("list")
def list_companies(as_json: bool = JSON) -> None:
    """List every company."""
    rows = run(lambda rt: rt.store.tenants.companies())
    data = [
        {"id": c.id, "name": c.name, "date_created": clock.isoformat(c.date_created)} for c in rows
    ]
    if as_json:
        options.emit(data, as_json=True, text="")
        return
    _table(["id", "name", "date_created"], data)


@business_units.command("create")
def create_business_unit(
    company: str = typer.Option(..., "--company", help="The company's id."),
    code: str = typer.Option(..., "--code", help="A short code, unique in the company."),
    description: str = typer.Option("", "--description", help="A description."),
    as_json: bool = JSON,
) -> None:
    """Create a business unit and print its id."""
    unit = run(lambda rt: rt.credentials.create_business_unit(company, code, description))
    view = {"id": unit.id, "company_id": unit.company_id, "code": unit.code}
    options.emit(view, as_json=as_json, text=unit.id)


@business_units.command("list")
def list_business_units(
    company: str = typer.Option(..., "--company", help="The company's id."), as_json: bool = JSON
) -> None:
    """List a company's business units."""

    async def units(rt: Any) -> list[models.BusinessUnit]:
        await rt.credentials.company(company)
        result: list[models.BusinessUnit] = await rt.store.tenants.business_units(company)
        return result

    data = [{"id": u.id, "code": u.code, "description": u.description} for u in run(units)]
    if as_json:
        options.emit(data, as_json=True, text="")
        return
    _table(["id", "code", "description"], data)


def _split(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


@clients.command("create")
def create_client(
    scopes: str = typer.Option(
        ..., "--scopes", help='Space-separated, e.g. "precon:read dis:read".'
    ),
    company: str | None = typer.Option(None, "--company", help="The company it belongs to."),
    partner: str | None = typer.Option(None, "--partner", help="Or the partner it belongs to."),
    units: str = typer.Option("all", "--business-units", help="all, or ids separated by commas."),
    name: str = typer.Option("", "--name", help="A name to recognise it by."),
    as_json: bool = JSON,
) -> None:
    """Create an API client and print its id and secret (shown this once)."""
    unit_ids = [models.ALL_BUSINESS_UNITS] if units.strip() == "all" else _split(units)
    issued = run(
        lambda rt: rt.credentials.create_client(
            scopes=_split(scopes),
            company_id=company,
            partner_id=partner,
            business_units=unit_ids,
            name=name,
        )
    )
    _print_secret(issued.client.id, issued.secret, as_json)


def _print_secret(client_id: str, secret: str, as_json: bool) -> None:
    text = f"client_id:     {client_id}\nclient_secret: {secret}\n(the secret is shown only now)"
    options.emit({"client_id": client_id, "client_secret": secret}, as_json=as_json, text=text)


@clients.command("rotate-secret")
def rotate_secret(client_id: str = typer.Argument(...), as_json: bool = JSON) -> None:
    """Give a client a new secret; the old one, its tokens and console sessions stop working."""
    issued = run(lambda rt: rt.credentials.rotate_secret(client_id))
    _print_secret(issued.client.id, issued.secret, as_json)


@clients.command("revoke")
def revoke(client_id: str = typer.Argument(...), as_json: bool = JSON) -> None:
    """Revoke a client: its secret, all its tokens and console sessions stop working at once."""
    client = run(lambda rt: rt.credentials.revoke(client_id))
    options.emit(_client_view(client), as_json=as_json, text=f"revoked {client.id}")


@clients.command("list")
def list_clients(
    company: str | None = typer.Option(None, "--company", help="Only this company's."),
    as_json: bool = JSON,
) -> None:
    """List clients (never their secrets)."""
    data = [_client_view(c) for c in run(lambda rt: rt.credentials.clients(company))]
    if as_json:
        options.emit(data, as_json=True, text="")
        return
    _table(["client_id", "name", "company_id", "partner_id", "scopes", "revoked_at"], data)


@partners.command("create")
def create_partner(name: str = typer.Argument(...), as_json: bool = JSON) -> None:
    """Create a partner and print its id."""
    partner = run(lambda rt: rt.credentials.create_partner(name))
    options.emit({"id": partner.id, "name": partner.name}, as_json=as_json, text=partner.id)


@partners.command("list")
def list_partners(as_json: bool = JSON) -> None:
    """List partners and the companies connected to each."""
    data = [
        {
            "id": partner.id,
            "name": partner.name,
            "date_created": clock.isoformat(partner.date_created),
            "connected_companies": companies,
        }
        for partner, companies in run(lambda rt: rt.credentials.partners())
    ]
    if as_json:
        options.emit(data, as_json=True, text="")
        return
    _table(["id", "name", "connected_companies", "date_created"], data)


def _connection(partner: str, company: str, connected: bool, as_json: bool) -> None:
    changed = run(lambda rt: rt.credentials.set_connection(partner, company, connected))
    state = "connected" if connected else "disconnected"
    text = f"{state}" if changed else f"already {state}"
    view = {
        "partner_id": partner,
        "company_id": company,
        "connected": connected,
        "changed": changed,
    }
    options.emit(view, as_json=as_json, text=text)


@partners.command("connect")
def connect(
    partner: str = typer.Option(..., "--partner"),
    company: str = typer.Option(..., "--company"),
    as_json: bool = JSON,
) -> None:
    """Connect a company to a partner's application."""
    _connection(partner, company, True, as_json)


@partners.command("disconnect")
def disconnect(
    partner: str = typer.Option(..., "--partner"),
    company: str = typer.Option(..., "--company"),
    as_json: bool = JSON,
) -> None:
    """Disconnect a company: the partner's tokens and subscriptions for it stop working, and
    its clients' console sessions end."""
    _connection(partner, company, False, as_json)


def _table(columns: list[str], rows: list[dict[str, Any]]) -> None:
    tables.show(columns, rows)


def register(app: typer.Typer) -> None:
    app.add_typer(companies, name="companies")
    app.add_typer(business_units, name="business-units")
    app.add_typer(clients, name="clients")
    app.add_typer(partners, name="partners")
