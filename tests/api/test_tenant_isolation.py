"""Tenant isolation as a matrix, on both databases: two companies with two business units each,
clients with every unit or limited to one, and a partner connected to one company.

Every cross access is refused as the spec says: 403 for a business unit of the caller's company
outside the token's access, for a missing scope, and for a token that acts for no company; 404 for
a business unit of another company and for another client's url or delivery. Lists hold only the
caller's own records, and a refused write stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest

from hookyard import ids, models
from hookyard.cli.runtime import Runtime
from tests.support.receiver import Receiver
from tests.support.tenants import bearer, company_token, token

PRODUCT_SCOPES = ("precon:read", "dis:read", "heavyjob:read")
BASE = "/webhooks/api/v1"
TYPES = {
    "precon": ["ProjectCreated"],
    "setups": ["EmployeeCreated"],
    "heavyjob": ["CostCodeCreated"],
}
UNIT_LISTS = {
    "precon": "/precon/api/v1/businessUnits",
    "heavyjob": "/heavyjob/api/v1/businessUnits",
    "setups": "/setups/api/v1/BusinessUnit",
}
DELIVERIES = "/hookyard/api/v1/deliveries"


@dataclass
class Caller:
    name: str
    company: str
    client_id: str
    headers: dict[str, str]
    units: list[str]
    url: str
    secret: str = ""


@dataclass
class World:
    companies: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    callers: dict[str, Caller] = field(default_factory=dict)

    def company_of_unit(self, unit: str) -> str:
        return self.companies[unit[0]]

    def others(self, me: Caller) -> list[Caller]:
        return [c for c in self.callers.values() if c.name != me.name]


def precon(unit_id: str) -> str:
    return f"{BASE}/precon/{unit_id}"


async def _company(runtime: Runtime, world: World, letter: str) -> None:
    company = await runtime.credentials.create_company(f"Company {letter}")
    world.companies[letter] = company.id
    for number in ("1", "2"):
        unit = await runtime.credentials.create_business_unit(company.id, f"{letter}{number}")
        world.units[f"{letter}{number}"] = unit.id


async def _client(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver, world: World, name: str
) -> None:
    letter, limited = name[0], name[1:] != "*"
    units = [f"{letter}1"] if limited else [f"{letter}1", f"{letter}2"]
    issued = await runtime.credentials.create_client(
        scopes=PRODUCT_SCOPES,
        company_id=world.companies[letter],
        business_units=[world.units[u] for u in units] if limited else [models.ALL_BUSINESS_UNITS],
    )
    headers = bearer(await token(api, issued.client.id, issued.secret))
    world.callers[name] = Caller(
        name, letter, issued.client.id, headers, units, receiver.url(f"/{name}"), issued.secret
    )


async def _partner(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver, world: World
) -> tuple[str, str]:
    credentials = runtime.credentials
    partner = await credentials.create_partner("Integrations Inc")
    issued = await credentials.create_client(scopes=PRODUCT_SCOPES, partner_id=partner.id)
    await credentials.set_connection(partner.id, world.companies["A"], True)
    access = await company_token(api, issued.client.id, issued.secret, world.companies["A"])
    world.callers["P"] = Caller(
        "P", "A", issued.client.id, bearer(access), ["A1", "A2"], receiver.url("/P")
    )
    return issued.client.id, issued.secret


async def _subscribe_everything(api: httpx.AsyncClient, world: World) -> None:
    for me in world.callers.values():
        paths = [precon(world.units[u]) for u in me.units]
        paths += [f"{BASE}/setups", f"{BASE}/heavyjob"]
        for path in paths:
            product = path.split("/")[4]
            body = {"url": me.url, "eventTypes": TYPES[product]}
            response = await api.post(path, json=body, headers=me.headers)
            assert response.status_code == 200, response.text


@pytest.fixture
async def world(api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver) -> World:
    """Companies A and B (units A1 A2, B1 B2); clients A* and B* (every unit), A1 and B1 (one
    unit), and P, a partner's client connected to company A only; each subscribed to every
    product it may use, at a callback url of its own."""
    built = World()
    await _company(runtime, built, "A")
    await _company(runtime, built, "B")
    for name in ("A*", "A1", "B*", "B1"):
        await _client(api, runtime, receiver, built, name)
    await _partner(api, runtime, receiver, built)
    await _subscribe_everything(api, built)
    return built


def _expected_for_unit(world: World, me: Caller, unit: str) -> int:
    if unit[0] != me.company:
        return 404
    return 200 if unit in me.units else 403


async def _records(api: httpx.AsyncClient, me: Caller, path: str) -> list[dict[str, str]]:
    response = await api.get(path, headers=me.headers)
    assert response.status_code == 200, response.text
    listed: list[dict[str, str]] = response.json()
    return listed


async def _snapshot(api: httpx.AsyncClient, world: World) -> dict[str, list[dict[str, str]]]:
    """Every caller's records on every path it may use."""
    snapshot = {}
    for me in world.callers.values():
        for path in [precon(world.units[u]) for u in me.units] + [
            f"{BASE}/setups",
            f"{BASE}/heavyjob",
        ]:
            snapshot[f"{me.name} {path}"] = await _records(api, me, path)
    return snapshot


async def test_precon_business_unit_matrix(api: httpx.AsyncClient, world: World) -> None:
    before = await _snapshot(api, world)
    wrong: list[str] = []
    for me in world.callers.values():
        for unit, unit_id in world.units.items():
            expected = _expected_for_unit(world, me, unit)
            path = precon(unit_id)
            other_url = world.callers["B*" if me.company == "A" else "A*"].url
            attempts = {
                "GET": await api.get(path, headers=me.headers),
                "DELETE other's url": await api.delete(
                    path, params={"url": other_url}, headers=me.headers
                ),
            }
            if expected != 200:
                body = {"url": me.url + "/new", "eventTypes": TYPES["precon"]}
                attempts["POST"] = await api.post(path, json=body, headers=me.headers)
                attempts["PUT"] = await api.put(path, json=body, headers=me.headers)
                attempts["DELETE own url"] = await api.delete(
                    path, params={"url": me.url}, headers=me.headers
                )
            for what, response in attempts.items():
                want = 404 if what == "DELETE other's url" and expected == 200 else expected
                if response.status_code != want:
                    wrong.append(f"{me.name} {what} {unit}: {response.status_code}, want {want}")
                elif want != 200:
                    assert response.headers["content-type"] == "application/problem+json"
    assert wrong == []
    assert await _snapshot(api, world) == before


async def test_lists_hold_only_the_callers_own_records(
    api: httpx.AsyncClient, world: World
) -> None:
    for me in world.callers.values():
        for product in ("setups", "heavyjob", *(f"precon {u}" for u in me.units)):
            path = precon(world.units[product[-2:]]) if product.startswith("precon") else None
            listed = await _records(api, me, path or f"{BASE}/{product}")
            assert len(listed) == 1, (me.name, product, listed)
            record = listed[0]
            assert record["clientId"] == me.client_id
            assert record["companyId"] == world.companies[me.company]
            assert record["callbackUrl"] == me.url
            for other in world.others(me):
                assert other.client_id not in str(listed)
                assert other.url not in str(listed)


async def test_another_clients_url_cannot_be_deleted_on_shared_paths(
    api: httpx.AsyncClient, world: World
) -> None:
    before = await _snapshot(api, world)
    for me in world.callers.values():
        for other in world.others(me):
            for product in ("setups", "heavyjob"):
                response = await api.delete(
                    f"{BASE}/{product}", params={"url": other.url}, headers=me.headers
                )
                assert response.status_code == 404, (me.name, other.name, product)
    assert await _snapshot(api, world) == before


async def test_business_unit_lists_hold_only_the_units_the_token_may_see(
    api: httpx.AsyncClient, world: World
) -> None:
    for me in world.callers.values():
        visible = {world.units[u] for u in me.units}
        hidden = set(world.units.values()) - visible
        for product, path in UNIT_LISTS.items():
            response = await api.get(path, headers=me.headers)
            assert response.status_code == 200
            body = response.json()
            rows = body["results"] if product == "precon" else body
            assert {row["id"] for row in rows} == visible, (me.name, product)
            assert not any(unit_id in response.text for unit_id in hidden)


async def test_a_partner_acts_only_for_the_company_that_connected_it(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    world = World()
    await _company(runtime, world, "A")
    await _company(runtime, world, "B")
    client_id, secret = await _partner(api, runtime, receiver, world)
    form = {"client_id": client_id, "client_secret": secret}

    other = await api.post(
        "/identity/connect/token",
        data={**form, "grant_type": "company", "CompanyId": world.companies["B"]},
    )
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_grant"

    # A partner's own token (client credentials) acts for no company at all.
    own = await api.post(
        "/identity/connect/token", data={**form, "grant_type": "client_credentials"}
    )
    assert own.status_code == 200, own.text
    headers = bearer(own.json()["access_token"])
    for path in [*UNIT_LISTS.values(), f"{BASE}/setups", precon(world.units["A1"])]:
        response = await api.get(path, headers=headers)
        assert response.status_code == 403, (path, response.text)
    body = {"url": receiver.url("/P"), "eventTypes": TYPES["setups"]}
    assert (await api.post(f"{BASE}/setups", json=body, headers=headers)).status_code == 403
    assert await runtime.store.subscriptions.of_client(client_id) == []


async def test_a_token_without_the_products_scope_is_refused(
    api: httpx.AsyncClient, world: World
) -> None:
    me = world.callers["A1"]
    paths = {
        "precon:read": precon(world.units["A1"]),
        "dis:read": f"{BASE}/setups",
        "heavyjob:read": f"{BASE}/heavyjob",
    }
    for scope in PRODUCT_SCOPES:
        narrow = bearer(await token(api, me.client_id, me.secret, scope=scope))
        for needed, path in paths.items():
            want = 200 if needed == scope else 403
            assert (await api.get(path, headers=narrow)).status_code == want, (scope, path)
            body = {"url": me.url, "eventTypes": TYPES[path.split("/")[4]]}
            if want == 403:
                assert (await api.put(path, json=body, headers=narrow)).status_code == 403


async def _publish(
    api: httpx.AsyncClient, headers: dict[str, str], product: str, event: dict[str, str]
) -> None:
    response = await api.post(f"/events/api/v1/{product}", json=event, headers=headers)
    assert response.status_code == 202, response.text


async def test_deliveries_are_seen_and_redelivered_only_by_their_client(
    api: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    publisher = await runtime.credentials.create_client(
        scopes=["events:publish", "hookyard:admin"], company_id=world.companies["A"]
    )
    headers = bearer(await token(api, publisher.client.id, publisher.secret))
    for letter, company in world.companies.items():
        await _publish(
            api,
            headers,
            "precon",
            {
                "eventType": "ProjectCreated",
                "companyId": company,
                "businessUnitId": world.units[f"{letter}1"],
                "projectId": ids.guid(),
            },
        )
        await _publish(
            api,
            headers,
            "setups",
            {
                "eventType": "EmployeeCreated",
                "companyId": company,
                "businessUnitId": world.units[f"{letter}1"],
                "id": ids.guid(),
            },
        )

    seen: dict[str, set[str]] = {}
    for me in world.callers.values():
        response = await api.get(DELIVERIES, headers=me.headers)
        assert response.status_code == 200, response.text
        rows = response.json()["results"]
        assert rows, me.name
        assert {row["clientId"] for row in rows} == {me.client_id}
        assert {row["companyId"] for row in rows} == {world.companies[me.company]}
        assert {row["callbackUrl"] for row in rows} == {me.url}
        seen[me.name] = {row["id"] for row in rows}

    for me in world.callers.values():
        for other in world.others(me):
            for delivery_id in seen[other.name]:
                got = await api.get(f"{DELIVERIES}/{delivery_id}", headers=me.headers)
                assert got.status_code == 404, (me.name, other.name)
                again = await api.post(f"{DELIVERIES}/{delivery_id}/redeliver", headers=me.headers)
                assert again.status_code == 404, (me.name, other.name)
