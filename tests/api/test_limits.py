"""Request limits answer before any route runs, with problem+json, and change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from hypothesis import given
from hypothesis import strategies as st

from hookyard.api.limits import deeper_than, json_depth
from hookyard.cli.runtime import Runtime
from tests.support import console
from tests.support.tenants import bearer, make_tenant, token

TOKEN = "/identity/connect/token"


async def test_a_body_over_one_mebibyte_is_413(api: httpx.AsyncClient) -> None:
    response = await api.post(TOKEN, content=b"a" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_chunked_body_over_the_limit_is_413(api: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    response = await api.post(TOKEN, content=chunks())
    assert response.status_code == 413


async def test_deeply_nested_json_is_400(api: httpx.AsyncClient) -> None:
    body = "[" * 40 + "]" * 40
    response = await api.post(
        "/precon/api/v1/businessUnits",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "nests deeper than 32" in response.json()["detail"]


async def test_oversized_headers_are_431(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz", headers={"X-Padding": "p" * 20000})
    assert response.status_code == 431


async def test_a_body_at_the_limit_reaches_the_route(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    form = "grant_type=client_credentials&client_id=x&client_secret=y&pad=" + "a" * 1000
    response = await api.post(
        TOKEN, content=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 401
    assert await runtime.store.tenants.count_companies() == 0


@given(
    st.recursive(
        st.none() | st.integers(), lambda inner: st.lists(inner, max_size=3), max_leaves=20
    )
)
def test_json_depth_counts_nesting(value: object) -> None:
    def depth(item: object) -> int:
        if isinstance(item, list):
            return 1 + max((depth(x) for x in item), default=0)
        return 0

    assert json_depth(json.loads(json.dumps(value))) == depth(value)


JSON = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"a'),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=30,
)


@given(JSON, st.integers(0, 12))
def test_the_bracket_count_shortcut_agrees_with_parsing(value: object, limit: int) -> None:
    body = json.dumps(value).encode()
    assert deeper_than(body, limit) == (json_depth(value) > limit)


async def test_a_query_parameter_given_twice_is_400_and_changes_nothing(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    record = await console.precon_record(runtime, tenant, "https://callback.example/hook")
    headers = bearer(await token(api, tenant.client_id, tenant.secret))
    unit = tenant.units[0].id
    for method, path in (
        ("GET", "/hookyard/api/v1/deliveries?eventId=evt_1&eventId=evt_2"),
        ("GET", "/hookyard/api/v1/subscriptions?limit=1&limit=2&status=Active"),
        (
            "DELETE",
            f"/webhooks/api/v1/precon/{unit}?url=https://callback.example/hook&url=https://x.example/",
        ),
        ("POST", "/events/api/v1/precon?x=1&x=2"),
    ):
        answer = await api.request(method, path, headers=headers)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert list(problem["errors"]) in (["eventId"], ["limit"], ["url"], ["x"])
        assert "send it once" in problem["detail"]
    assert await runtime.store.subscriptions.get(record) is not None
    assert await runtime.store.events.count() == 0


async def test_console_pages_read_their_own_query_strings(api: httpx.AsyncClient) -> None:
    answer = await api.get("/console/?a=1&a=2")
    assert answer.status_code != 400
