"""The lean publish path (`hookyard.api.lean`) answers every publish exactly as the FastAPI
routes do: each request here goes once through the app as served (lean path first) and once
through the routes alone (`HookyardApp.routed`), on the same database, and the two answers must
have the same status, headers and body (event ids aside, which are new on each publish).
Hypothesis adds bodies of any JSON shape. On both databases."""

from __future__ import annotations

import string
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookyard.api.app import HookyardApp
from hookyard.cli.runtime import Runtime
from tests.support.tenants import Tenant, bearer, make_tenant, token

EVENTS = "/events/api/v1"
IGNORED = {"date", "content-length"}


@dataclass
class Doors:
    """The same app through its lean path and through its routes only."""

    lean: httpx.AsyncClient
    routed: httpx.AsyncClient
    app: HookyardApp
    tenant: Tenant
    headers: dict[str, str]

    @property
    def answered(self) -> int:
        """How many requests the lean path answered itself."""
        assert self.app.lean_path is not None
        return self.app.lean_path.answered

    async def both(self, path: str, **request: Any) -> tuple[httpx.Response, httpx.Response]:
        """The answers of the lean path and of the routes to the same request."""
        lean = await self.lean.post(path, **request)
        routed = await self.routed.post(path, **request)
        return lean, routed

    async def same(self, path: str, **request: Any) -> httpx.Response:
        """Send the request both ways; they must answer alike. The lean path's answer."""
        lean, routed = await self.both(path, **request)
        assert _answer(lean) == _answer(routed), (path, request)
        return lean

    def event(self, **changes: Any) -> dict[str, Any]:
        return {
            "eventType": "ProjectCreated",
            "companyId": self.tenant.company.id,
            "businessUnitId": self.tenant.units[0].id,
            "projectId": "p-1",
            **changes,
        }


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], Any]:
    headers = sorted((k, v) for k, v in response.headers.items() if k not in IGNORED)
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        if "eventId" in body:
            body["eventId"] = "<id>"
        if "eventIds" in body:
            body["eventIds"] = ["<id>"] * len(body["eventIds"])
    return response.status_code, headers, body


@pytest.fixture
async def doors(runtime: Runtime) -> AsyncIterator[Doors]:
    app = runtime.app()
    assert isinstance(app, HookyardApp)
    assert app.lean_path is not None
    base = "http://testserver"
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as lean,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app.routed), base_url=base) as routed,
    ):
        tenant = await make_tenant(runtime)
        headers = bearer(await token(lean, tenant.client_id, tenant.secret, "events:publish"))
        yield Doors(lean, routed, app, tenant, headers)


async def test_an_accepted_publish_is_the_same_202(doors: Doors, runtime: Runtime) -> None:
    before = doors.answered
    answer = await doors.same(f"{EVENTS}/precon", json=doors.event(), headers=doors.headers)
    assert answer.status_code == 202
    assert answer.headers["content-type"] == "application/json"
    assert await runtime.store.events.count() == 2
    assert doors.answered == before + 1


async def test_a_batch_is_the_same_202(doors: Doors) -> None:
    events = [doors.event(projectId=f"p-{i}") for i in range(3)]
    answer = await doors.same(f"{EVENTS}/precon/batch", json=events, headers=doors.headers)
    assert answer.status_code == 202
    assert len(answer.json()["eventIds"]) == 3


async def test_an_idempotent_replay_is_the_same_on_either_path(doors: Doors) -> None:
    headers = {**doors.headers, "Idempotency-Key": "order-1"}
    first = await doors.lean.post(f"{EVENTS}/precon", json=doors.event(), headers=headers)
    assert first.status_code == 202
    lean, routed = await doors.both(f"{EVENTS}/precon", json=doors.event(), headers=headers)
    assert _answer(lean) == _answer(routed)
    assert lean.json() == routed.json() == first.json()
    assert lean.headers["idempotent-replayed"] == "true"
    changed = await doors.same(
        f"{EVENTS}/precon", json=doors.event(projectId="p-2"), headers=headers
    )
    assert changed.status_code == 422


def _bad_token(doors: Doors) -> dict[str, Any]:
    return {"json": doors.event(), "headers": bearer("not-a-token")}


def _no_token(doors: Doors) -> dict[str, Any]:
    return {"json": doors.event()}


def _basic_auth(doors: Doors) -> dict[str, Any]:
    return {"json": doors.event(), "headers": {"Authorization": "Basic dXNlcjpwYXNz"}}


def _form_body(doors: Doors) -> dict[str, Any]:
    return {"data": {"eventType": "ProjectCreated"}, "headers": doors.headers}


def _no_content_type(doors: Doors) -> dict[str, Any]:
    return {"content": orjson.dumps(doors.event()), "headers": doors.headers}


def _not_json(doors: Doors) -> dict[str, Any]:
    headers = {**doors.headers, "Content-Type": "application/json"}
    return {"content": b'{"eventType": ', "headers": headers}


def _empty(doors: Doors) -> dict[str, Any]:
    return {"content": b"", "headers": {**doors.headers, "Content-Type": "application/json"}}


def _a_list(doors: Doors) -> dict[str, Any]:
    return {"json": [doors.event()], "headers": doors.headers}


def _unknown_type(doors: Doors) -> dict[str, Any]:
    return {"json": doors.event(eventType="ProjectExploded"), "headers": doors.headers}


def _unknown_field(doors: Doors) -> dict[str, Any]:
    return {"json": doors.event(colour="red"), "headers": doors.headers}


def _other_company(doors: Doors) -> dict[str, Any]:
    other = "6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b"
    return {"json": doors.event(companyId=other), "headers": doors.headers}


def _long_key(doors: Doors) -> dict[str, Any]:
    return {"json": doors.event(), "headers": {**doors.headers, "Idempotency-Key": "k" * 201}}


def _declared_too_large(doors: Doors) -> dict[str, Any]:
    return {"content": b"{" + b" " * 2_000_000 + b"}", "headers": doors.headers}


def _streamed_too_large(doors: Doors) -> dict[str, Any]:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b" " * 65_536

    return {"content": chunks(), "headers": {**doors.headers, "Content-Type": "application/json"}}


LEAN, ROUTES = "lean path", "routes"
CASES: dict[str, tuple[Callable[[Doors], dict[str, Any]], str]] = {
    "bad token": (_bad_token, LEAN),
    "no token": (_no_token, ROUTES),
    "basic auth": (_basic_auth, ROUTES),
    "form body": (_form_body, ROUTES),
    "no content type": (_no_content_type, ROUTES),
    "not json": (_not_json, ROUTES),
    "empty body": (_empty, ROUTES),
    "a list to the single route": (_a_list, ROUTES),
    "unknown event type": (_unknown_type, LEAN),
    "unknown field": (_unknown_field, LEAN),
    "another company": (_other_company, LEAN),
    "idempotency key too long": (_long_key, LEAN),
    "declared too large": (_declared_too_large, ROUTES),
    "streamed too large": (_streamed_too_large, LEAN),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_refused_publish_is_the_same_answer(doors: Doors, case: str) -> None:
    make, answered_by = CASES[case]
    before = doors.answered
    lean, routed = await doors.both(f"{EVENTS}/precon", **make(doors))
    assert _answer(lean) == _answer(routed)
    assert lean.status_code >= 400, lean.text
    assert doors.answered == before + int(answered_by == LEAN)


async def test_json_nested_past_the_limit_is_the_same_400(doors: Doors, runtime: Runtime) -> None:
    depth = runtime.settings.max_json_depth + 1
    body = b"[" * depth + b"]" * depth
    headers = {**doors.headers, "Content-Type": "application/json"}
    for path in (f"{EVENTS}/precon", f"{EVENTS}/precon/batch"):
        answer = await doors.same(path, content=body, headers=headers)
        assert answer.status_code == 400


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"{EVENTS}/nosuchproduct", "event"),
        (f"{EVENTS}/precon/", "event"),
        (f"{EVENTS}/precon/batch", "event"),
        (f"{EVENTS}/precon/batch", "empty list"),
        (f"{EVENTS}/precon/batch", "too many"),
        (f"{EVENTS}/precon/other", "event"),
    ],
)
async def test_other_paths_and_shapes_are_the_same_answer(
    doors: Doors, path: str, body: str
) -> None:
    content = {
        "event": doors.event(),
        "empty list": [],
        "too many": [doors.event(projectId=f"p-{i}") for i in range(1001)],
    }[body]
    lean, routed = await doors.both(path, json=content, headers=doors.headers)
    assert _answer(lean) == _answer(routed)
    assert lean.status_code != 202  # a trailing slash is FastAPI's redirect, the rest refusals


async def test_a_token_without_the_publish_scope_is_the_same_403(
    doors: Doors, runtime: Runtime
) -> None:
    reader = await make_tenant(runtime, "Reader Co", scopes=("precon:read",))
    headers = bearer(await token(doors.lean, reader.client_id, reader.secret, "precon:read"))
    answer = await doors.same(f"{EVENTS}/precon", json=doors.event(), headers=headers)
    assert answer.status_code == 403


async def test_a_closed_intake_is_the_same_503(doors: Doors) -> None:
    intake = doors.app.state.context.intake
    intake.close("The delivery worker is down; retry shortly.")
    try:
        answer = await doors.same(f"{EVENTS}/precon", json=doors.event(), headers=doors.headers)
    finally:
        intake.open()
    assert answer.status_code == 503
    assert answer.headers["retry-after"]


JSON_LEAF = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=40)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["eventType", "companyId", "businessUnitId", "projectId", "estimateId", "x", ""]
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    changes=st.dictionaries(
        FIELDS, JSON | st.text(alphabet=string.printable, max_size=40), max_size=4
    ),
    batch=st.booleans(),
    wrap=st.booleans(),
)
async def test_any_json_body_gets_the_same_answer(
    doors: Doors, changes: dict[str, Any], batch: bool, wrap: bool
) -> None:
    event: Any = doors.event(**changes)
    if wrap:
        event = [event]
    path = f"{EVENTS}/precon/batch" if batch else f"{EVENTS}/precon"
    lean, routed = await doors.both(path, json=event, headers=doors.headers)
    assert _answer(lean) == _answer(routed)
