"""Business units as the three products list them (spec section 2), on both databases."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from hookyard.api.routes import business_units
from hookyard.cli.runtime import Runtime
from tests.support.tenants import bearer, make_tenant, token

PRECON = "/precon/api/v1/businessUnits"
HEAVYJOB = "/heavyjob/api/v1/businessUnits"
SETUPS = "/setups/api/v1/BusinessUnit"


async def _all_pages(api: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    params: dict[str, str] = {}
    for _ in range(10):
        response = await api.get(PRECON, headers=headers, params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if not response.json()["hasNextPage"]:
            return pages
        params = {"pageToken": response.json()["nextPageToken"]}
    raise AssertionError("paging did not end within 10 pages")


async def test_precon_pages_through_every_unit_once_in_creation_order(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    count = business_units.PAGE_SIZE * 2 + 1
    tenant = await make_tenant(runtime, unit_codes=[f"BU{n:03d}" for n in range(count)])
    headers = bearer(await token(api, tenant.client_id, tenant.secret))

    pages = await _all_pages(api, headers)

    assert [len(page["results"]) for page in pages] == [100, 100, 1]
    assert [page["hasNextPage"] for page in pages] == [True, True, False]
    assert pages[-1]["nextPageToken"] is None
    assert all(isinstance(page["nextPageToken"], str) for page in pages[:-1])
    ids = [unit["id"] for page in pages for unit in page["results"]]
    assert ids == [unit.id for unit in tenant.units]


async def test_a_single_page_says_there_is_no_next_page(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    headers = bearer(await token(api, tenant.client_id, tenant.secret))
    body = (await api.get(PRECON, headers=headers)).json()
    assert body["hasNextPage"] is False
    assert body["nextPageToken"] is None
    assert len(body["results"]) == 2


async def test_each_product_lists_units_in_its_own_shape(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime, unit_codes=["EAST"])
    headers = bearer(await token(api, tenant.client_id, tenant.secret))
    unit = tenant.units[0]

    precon = (await api.get(PRECON, headers=headers)).json()["results"]
    heavyjob = (await api.get(HEAVYJOB, headers=headers)).json()
    setups = (await api.get(SETUPS, headers=headers)).json()

    assert precon == [
        {
            "id": unit.id,
            "code": "EAST",
            "description": "EAST",
            "dateCreated": unit.date_created.isoformat().replace("+00:00", "Z"),
        }
    ]
    assert list(precon[0]) == ["id", "code", "description", "dateCreated"]
    assert precon[0]["dateCreated"].endswith("Z")
    assert heavyjob == [
        {"id": unit.id, "credentialsId": unit.credentials_id, "code": "EAST", "description": "EAST"}
    ]
    assert list(heavyjob[0]) == ["id", "credentialsId", "code", "description"]
    assert setups == [{"id": unit.id, "code": "EAST", "description": "EAST"}]
    assert list(setups[0]) == ["id", "code", "description"]


@pytest.mark.parametrize("path", [PRECON, HEAVYJOB, SETUPS])
async def test_lists_hold_only_the_tokens_company_and_units(
    api: httpx.AsyncClient, runtime: Runtime, path: str
) -> None:
    other = await make_tenant(runtime, "Other Co", unit_codes=["OTHER1", "OTHER2"])
    mine = await make_tenant(runtime, "Mine Co", unit_codes=["A", "B", "C"])
    limited = await runtime.credentials.create_client(
        scopes=["precon:read", "dis:read", "heavyjob:read"],
        company_id=mine.company.id,
        business_units=[mine.units[0].id, mine.units[2].id],
    )

    full = await api.get(path, headers=bearer(await token(api, mine.client_id, mine.secret)))
    part = await api.get(path, headers=bearer(await token(api, limited.client.id, limited.secret)))

    def codes(response: httpx.Response) -> list[str]:
        body = response.json()
        rows = body["results"] if path == PRECON else body
        return [row["code"] for row in rows]

    assert codes(full) == ["A", "B", "C"]
    assert codes(part) == ["A", "C"]
    hidden = [unit.id for unit in other.units]
    assert not any(unit_id in full.text or unit_id in part.text for unit_id in hidden)
    assert mine.units[1].id not in part.text


@pytest.mark.parametrize(
    "page_token",
    [
        "not-base64!",
        base64.urlsafe_b64encode(b"no separator or date").decode(),
        base64.urlsafe_b64encode(b"yesterday|some-id").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe|x").decode(),
        "x" * 600,
    ],
)
async def test_a_bad_page_token_is_400_with_the_field_named(
    api: httpx.AsyncClient, runtime: Runtime, page_token: str
) -> None:
    tenant = await make_tenant(runtime)
    headers = bearer(await token(api, tenant.client_id, tenant.secret))
    response = await api.get(PRECON, headers=headers, params={"pageToken": page_token})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert "pageToken" in problem["errors"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("path", "scope"),
    [(PRECON, "dis:read"), (HEAVYJOB, "precon:read"), (SETUPS, "heavyjob:read")],
)
async def test_a_token_without_the_products_scope_is_403(
    api: httpx.AsyncClient, runtime: Runtime, path: str, scope: str
) -> None:
    tenant = await make_tenant(runtime)
    headers = bearer(await token(api, tenant.client_id, tenant.secret, scope=scope))
    response = await api.get(path, headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", [PRECON, HEAVYJOB, SETUPS])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-jwt"}])
async def test_no_or_a_bad_token_is_401(
    api: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> None:
    response = await api.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
