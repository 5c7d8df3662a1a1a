"""No page tells a visitor where Hookyard lives on its machine: the public pages (`/`,
`/walkthrough`, the API reference), the console's pages for an integrator and for the operator,
error pages and problem details name neither the data directory nor the home directory. In
process over HTTP, on both databases."""

from __future__ import annotations

import os

import httpx

from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from tests.support import console
from tests.support.actors import OPERATOR
from tests.support.receiver import Receiver
from tests.support.tenants import Tenant, make_tenant

PUBLIC = [
    "/",
    "/walkthrough",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/identity/.well-known/jwks.json",
    "/nothing-here",
    "/webhooks/api/v1/setups",  # no token: 401
]
CONSOLE = [
    "/console/login",
    "/console/subscriptions",
    "/console/subscriptions?status=Stopped",
    "/console/deliveries",
    "/console/deliveries?since=yesterday-ish",
    "/console/deliveries/nope",
    "/console/alerts",
    "/console/tenants",
    "/console/queue",
    "/console/approvals",
    "/console/nothing-here",
]


def _paths(settings: Settings) -> list[str]:
    data = settings.data_dir.resolve()
    home = os.path.expanduser("~")
    assert data.is_absolute()
    return [str(data), str(settings.data_dir), home]


def _leaks(answers: list[httpx.Response], paths: list[str]) -> list[str]:
    return [
        f"{answer.request.method} {answer.request.url} names {path}"
        for answer in answers
        for path in paths
        if path in answer.text
    ]


async def _console_pages(api: httpx.AsyncClient, who: Tenant, record: str) -> list[httpx.Response]:
    csrf = await console.signed_in(api, who.client_id, who.secret)
    answers = [await api.get(path) for path in CONSOLE]
    test = {"csrf": csrf, "event_type": "ProjectCreated"}
    answers.append(await api.post(f"/console/subscriptions/{record}/test", data=test))
    answers.append(await api.post(f"/console/subscriptions/{record}/rotate", data={"csrf": csrf}))
    answers.append(await api.post("/console/alerts", data={"csrf": csrf, "url": "not a url"}))
    return answers


async def test_no_page_names_the_data_or_home_directory(
    api: httpx.AsyncClient, runtime: Runtime, settings: Settings, receiver: Receiver
) -> None:
    tenant = await make_tenant(runtime)
    record = await console.precon_record(runtime, tenant, receiver.url("/hook"))
    await runtime.alerts.add(OPERATOR, receiver.url("/alerts"))
    answers = [await api.get(path) for path in PUBLIC]
    answers.append(await api.post("/identity/connect/token", data={"grant_type": "nope"}))
    answers.append(await api.post("/events/api/v1/precon", content=b"{"))
    walkthrough = answers[1]
    assert walkthrough.status_code == 200
    assert "demo.json" in walkthrough.text  # it still says where the demo client is
    answers += await _console_pages(api, tenant, record)
    answers += await _console_pages(api, await console.operator(runtime), record)
    assert _leaks(answers, _paths(settings)) == []
