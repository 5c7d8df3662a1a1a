"""The console's cookies are `Secure` when the browser reached Hookyard over https: by
`HOOKYARD_PUBLIC_BASE_URL`, or by the request itself, as a trusted proxy's
`X-Forwarded-Proto: https` tells the real uvicorn server (`HOOKYARD_FORWARDED_ALLOW_IPS`, 127.0.0.1
by default). From an untrusted address the header changes nothing. `hookyard api` as a process
on a SQLite file shared with the test."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from tests.support import console, server
from tests.support.tenants import Tenant, make_tenant

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
HTTPS = {"X-Forwarded-Proto": "https"}
SECURE = re.compile(r";\s*secure(;|$)", re.IGNORECASE)


def _cookie(answer: httpx.Response, name: str) -> str:
    """The Set-Cookie line of `name` in `answer`."""
    found = [c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert len(found) == 1, answer.headers
    return found[0]


async def _sign_in(base: str, tenant: Tenant, headers: dict[str, str]) -> tuple[str, str]:
    """Sign in with `headers` on both requests; the login and session Set-Cookie lines. The
    login cookie goes back by hand: a client keeps a Secure cookie from http:// to itself."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=20) as client:
        form = await client.get("/console/login")
        login = _cookie(form, "hookyard_console_login")
        value = login.split(";", 1)[0]
        data = {
            "csrf": console.csrf_of(form.text),
            "client_id": tenant.client_id,
            "client_secret": tenant.secret,
        }
        client.cookies.clear()
        answer = await client.post("/console/login", data=data, headers={"Cookie": value})
        assert answer.status_code == 303, answer.text
        return login, _cookie(answer, "hookyard_console")


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return server.environment(settings.data_dir, database_url=settings.database_url, **extra)


async def test_https_makes_the_cookies_secure_from_a_trusted_proxy_only(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    tenant = await make_tenant(runtime)
    with server.hookyard(["api"], _env(settings), tmp_path) as running:
        for cookie in await _sign_in(running.base_url, tenant, HTTPS):
            assert SECURE.search(cookie), cookie
            assert "httponly" in cookie.lower()
            assert "samesite=strict" in cookie.lower()
        for cookie in await _sign_in(running.base_url, tenant, {}):
            assert not SECURE.search(cookie), cookie
    # The same header from an address that is not a trusted proxy: plain http, as it is.
    untrusted = _env(settings, forwarded_allow_ips="192.0.2.1")
    with server.hookyard(["api"], untrusted, tmp_path) as running:
        for cookie in await _sign_in(running.base_url, tenant, HTTPS):
            assert not SECURE.search(cookie), cookie
