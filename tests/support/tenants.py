"""Tenants for tests, made through the real credentials service, and tokens from the real
token endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from hookyard import models
from hookyard.cli.runtime import Runtime

ALL_SCOPES = ("precon:read", "dis:read", "heavyjob:read", "events:publish")


@dataclass(frozen=True)
class Tenant:
    company: models.Company
    units: list[models.BusinessUnit]
    client_id: str
    secret: str


async def make_tenant(
    runtime: Runtime,
    name: str = "Acme Paving",
    *,
    scopes: Sequence[str] = ALL_SCOPES,
    unit_codes: Sequence[str] = ("BU1", "BU2"),
    client_units: Sequence[str] | None = None,
) -> Tenant:
    """A company with business units and one client (all units unless `client_units`)."""
    credentials = runtime.credentials
    company = await credentials.create_company(name)
    units = [await credentials.create_business_unit(company.id, code) for code in unit_codes]
    issued = await credentials.create_client(
        scopes=scopes,
        company_id=company.id,
        business_units=client_units or (models.ALL_BUSINESS_UNITS,),
    )
    return Tenant(company, units, issued.client.id, issued.secret)


async def token(api: httpx.AsyncClient, client_id: str, secret: str, scope: str = "") -> str:
    """An access token from the token endpoint; fails the test if it is refused."""
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope:
        form["scope"] = scope
    return await _issued(api, form)


async def company_token(api: httpx.AsyncClient, client_id: str, secret: str, company: str) -> str:
    """A partner client's token for `company` (grant_type=company); fails the test if refused."""
    form = {
        "grant_type": "company",
        "client_id": client_id,
        "client_secret": secret,
        "CompanyId": company,
    }
    return await _issued(api, form)


async def _issued(api: httpx.AsyncClient, form: dict[str, str]) -> str:
    response = await api.post("/identity/connect/token", data=form)
    assert response.status_code == 200, response.text
    value: str = response.json()["access_token"]
    return value


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}
