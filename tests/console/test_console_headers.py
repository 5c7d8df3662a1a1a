"""Every console response carries the console's security headers: pages, redirects, the sign-in
page, error pages (a 500 included), static files and paths that do not exist under `/console`.
The pages need no inline script or style, so the policy needs no `'unsafe-inline'`. In-process
over HTTP, on both databases."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import APIRouter

from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from hookyard.console import web
from tests.support import console
from tests.support.tenants import make_tenant
from tests.support.webhooks import app_with

URL = "https://callback.example/hook"
POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; "
    "frame-ancestors 'none'"
)
EXPECTED = {
    "content-security-policy": POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style|\sstyle=|javascript:", re.IGNORECASE)


def _check(answer: httpx.Response) -> None:
    where = f"{answer.request.method} {answer.request.url.path} ({answer.status_code})"
    shown = {name: answer.headers.get(name) for name in EXPECTED}
    assert shown == EXPECTED, where
    if answer.headers.get("content-type", "").startswith("text/html"):
        assert not INLINE_SCRIPT.search(answer.text), f"{where}: an inline script"
        assert not INLINE_STYLE.search(answer.text), f"{where}: an inline style or javascript: url"


async def test_every_console_response_carries_the_security_headers(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    record = await console.precon_record(runtime, tenant, URL)
    answers = [
        await api.get("/console/login"),
        await api.get("/console/subscriptions"),  # no session: the sign-in page, 401
        await api.post("/console/login", data={"csrf": "forged"}),  # 403
        await console.sign_in(api, tenant.client_id, "wrong"),  # 401
        await console.sign_in(api, tenant.client_id, tenant.secret),  # 303
        await api.get("/console/"),  # 303
        await api.get("/console"),  # 307 to /console/
        await api.get("/console/subscriptions"),
        await api.get("/console/deliveries"),
        await api.get("/console/alerts"),
        await api.get("/console/tenants"),  # not the operator: 403
        await api.get("/console/deliveries", params={"since": "yesterday-ish"}),  # 400
        await api.get("/console/nothing-here"),  # 404
        await api.get("/console/static/console.css"),
        await api.get("/console/static/console.js"),
        await api.get("/console/static/htmx.min.js"),
        await api.get("/console/static/missing.js"),  # 404
    ]
    csrf = console.csrf_of(answers[7].text)
    answers += [
        await api.post("/console/subscriptions/nope/rotate", data={"csrf": csrf}),  # 404
        await api.post(f"/console/subscriptions/{record}/rotate", data={"csrf": "forged"}),
        await api.post(f"/console/subscriptions/{record}/rotate", data={"csrf": csrf}),
    ]
    rotated = answers[-1]
    assert rotated.status_code == 200
    assert 'id="secret-key"' in rotated.text  # the page that shows a key once: never cached
    answers.append(await api.post("/console/logout", data={"csrf": csrf}))
    statuses = {answer.status_code for answer in answers}
    assert statuses == {200, 303, 307, 400, 401, 403, 404}, statuses
    for answer in answers:
        _check(answer)
    for path in ("/docs", "/healthz", "/", "/consoles"):  # the API keeps its own (Swagger UI)
        assert "content-security-policy" not in (await api.get(path)).headers, path


async def test_frame_ancestors_come_from_the_setting(settings: Settings) -> None:
    allowed = "'self' https://app.example.com https://*.example.org:8443"
    async with app_with(settings, console_frame_ancestors=allowed) as (api, _runtime):
        answer = await api.get("/console/login")
    policy = answer.headers["content-security-policy"]
    assert policy.endswith(f"; frame-ancestors {allowed}")


@pytest.mark.parametrize(
    "value",
    ["'none'", "'self'", "https://app.example.com 'self'", "http://[::1]:8000"],
)
def test_frame_ancestors_take_origins_and_keywords(value: str) -> None:
    assert Settings(console_frame_ancestors=f"  {value} ").console_frame_ancestors == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "self",
        "none",
        "'none' https://app.example.com",
        "https://app.example.com/path",
        "https://app.example.com; script-src *",
        "https://a.example.com,https://b.example.com",
        "javascript:alert(1)",
        "*",
    ],
)
def test_frame_ancestors_refuse_anything_else(value: str) -> None:
    with pytest.raises(ValueError, match=r"is not a frame ancestor|'none' alone"):
        Settings(console_frame_ancestors=value)


async def test_an_unexpected_error_is_a_console_page_with_the_headers(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    app = runtime.app()
    broken = APIRouter(route_class=web.ConsoleRoute)

    @broken.get("/broken")
    async def fail() -> None:
        raise RuntimeError("/home/someone/secret/path went wrong")

    app.include_router(broken, prefix=web.PREFIX)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        answer = await api.get("/console/broken")
    assert answer.status_code == 500
    assert "Hookyard failed to answer; the error was logged." in answer.text
    assert "Nothing was changed." not in answer.text  # it may not be true after a failure
    assert "/home/someone" not in answer.text
    _check(answer)
    assert "unhandled error in the console" in caplog.text
