"""Alert urls in the console over HTTP, in-process on both databases: the operator's page
manages the operator's alert urls, an integrator's page its own (the same service as the API and
`hookyard alerts`). Bad input, a failed challenge, an address the guard refuses, another
tenant's url and a form without its CSRF token each answer a readable page and change nothing."""

from __future__ import annotations

import html

import httpx
import pytest

from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from hookyard.services import alerts
from tests.support import console
from tests.support.actors import OPERATOR, integrator
from tests.support.receiver import Behaviour, Receiver
from tests.support.tenants import Tenant, make_tenant, token
from tests.support.webhooks import app_with


def _text(page: httpx.Response) -> str:
    return html.unescape(page.text)


async def _add(
    api: httpx.AsyncClient, csrf: str | None, url: str, event_types: list[str] | None = None
) -> httpx.Response:
    chosen = list(alerts.EVENT_TYPES) if event_types is None else event_types
    data: dict[str, object] = {"url": url, "event_type": chosen}
    if csrf is not None:
        data["csrf"] = csrf
    return await api.post("/console/alerts", data=data)


async def _remove(api: httpx.AsyncClient, csrf: str | None, url: str) -> httpx.Response:
    data = {"url": url} if csrf is None else {"url": url, "csrf": csrf}
    return await api.post("/console/alerts/remove", data=data)


async def _own(runtime: Runtime, tenant: Tenant) -> list[alerts.AlertTarget]:
    return await runtime.alerts.targets(integrator(tenant.client_id, tenant.company.id))


# Bad input first: a readable page, and nothing changed.


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "url"),
        ("ftp://example.com/alerts", "http"),
        ("", "url"),
    ],
)
async def test_a_url_that_is_no_callback_url_is_refused(
    api: httpx.AsyncClient, runtime: Runtime, url: str, says: str
) -> None:
    tenant = await make_tenant(runtime)
    csrf = await console.signed_in(api, tenant.client_id, tenant.secret)
    page = await _add(api, csrf, url)
    assert page.status_code == 400
    assert says in _text(page)
    assert "Nothing was changed." in _text(page)
    assert 'role="alert"' in page.text
    assert await _own(runtime, tenant) == []


async def test_a_failed_challenge_or_an_unknown_event_type_adds_nothing(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    tenant = await make_tenant(runtime)
    csrf = await console.signed_in(api, tenant.client_id, tenant.secret)
    receiver.answer("/down", Behaviour(status=404))
    page = await _add(api, csrf, receiver.url("/down"))
    assert page.status_code == 400
    assert "challenge" in _text(page)
    assert "status 404" in _text(page) or "404" in _text(page)
    page = await _add(api, csrf, receiver.url("/up"), ["subscription.exploded"])
    assert page.status_code == 400
    assert "subscription.exploded" in _text(page)
    page = await _add(api, csrf, receiver.url("/up"), [])
    assert page.status_code == 400
    assert "event type" in _text(page)
    assert await _own(runtime, tenant) == []
    assert not receiver.received("GET", "/up"), "no challenge for a request refused before it"


async def test_an_address_the_guard_refuses_adds_nothing(
    settings: Settings, receiver: Receiver
) -> None:
    async with app_with(settings, allow_private_callbacks=False) as (api, guarded):
        tenant = await make_tenant(guarded)
        csrf = await console.signed_in(api, tenant.client_id, tenant.secret)
        page = await _add(api, csrf, receiver.url("/alerts"))
        assert page.status_code == 400
        assert "loopback" in _text(page)
        assert "Nothing was changed." in _text(page)
        assert await guarded.alerts.targets(integrator(tenant.client_id, tenant.company.id)) == []
    assert not receiver.received(), "the guard refused before anything was sent"


@pytest.mark.parametrize("token_value", [None, "forged"])
async def test_forms_without_the_session_token_change_nothing(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver, token_value: str | None
) -> None:
    tenant = await make_tenant(runtime)
    await console.signed_in(api, tenant.client_id, tenant.secret)
    page = await _add(api, token_value, receiver.url("/alerts"))
    assert page.status_code == 403
    assert "security token is missing or wrong" in page.text
    assert await _own(runtime, tenant) == []
    await runtime.alerts.add(integrator(tenant.client_id, tenant.company.id), receiver.url("/kept"))
    page = await _remove(api, token_value, receiver.url("/kept"))
    assert page.status_code == 403
    assert [t.url for t in await _own(runtime, tenant)] == [receiver.url("/kept")]
    assert not receiver.received("GET", "/alerts")


async def test_another_tenants_alert_url_cannot_be_removed_or_seen(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    mine, theirs = await make_tenant(runtime, "Mine"), await make_tenant(runtime, "Theirs")
    their_url = receiver.url("/theirs")
    await runtime.alerts.add(integrator(theirs.client_id, theirs.company.id), their_url)
    await runtime.alerts.add(OPERATOR, receiver.url("/operator"))
    csrf = await console.signed_in(api, mine.client_id, mine.secret)
    listed = await api.get("/console/alerts")
    assert listed.status_code == 200
    assert their_url not in listed.text
    assert receiver.url("/operator") not in listed.text
    page = await _remove(api, csrf, their_url)
    assert page.status_code == 404
    assert "no alert url" in _text(page).lower() or "no active or stopped" in _text(page).lower()
    assert "Nothing was changed." in _text(page)
    assert [t.url for t in await _own(runtime, theirs)] == [their_url]
    assert [t.url for t in await runtime.alerts.targets(OPERATOR)] == [receiver.url("/operator")]


# What it does.


async def test_an_integrator_lists_adds_and_removes_its_own_alert_url(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    tenant = await make_tenant(runtime)
    csrf = await console.signed_in(api, tenant.client_id, tenant.secret)
    empty = await api.get("/console/alerts")
    assert empty.status_code == 200
    assert "No alert urls yet." in empty.text
    url = receiver.url("/mine")
    page = await _add(api, csrf, url, [alerts.STOPPED, alerts.EXHAUSTED])
    assert page.status_code == 200, page.text
    (target,) = await _own(runtime, tenant)
    assert (target.url, sorted(target.event_types)) == (
        url,
        sorted([alerts.EXHAUSTED, alerts.STOPPED]),
    )
    assert target.secret_key in page.text  # shown once, right after adding
    assert receiver.received("GET", "/mine"), "the alert url answered a challenge"
    assert await runtime.alerts.targets(OPERATOR) == []  # the operator's are apart

    bearer = {"Authorization": f"Bearer {await token(api, tenant.client_id, tenant.secret)}"}
    listed = await api.get("/hookyard/api/v1/alerts", headers=bearer)
    assert [t["url"] for t in listed.json()] == [url]  # the API sees what the console made

    page = await api.get("/console/alerts")
    assert url in page.text
    assert target.secret_key not in page.text  # listed without its key
    removed = await _remove(api, csrf, url)
    assert removed.status_code == 303
    assert removed.headers["location"] == "/console/alerts?done=removed"
    assert await _own(runtime, tenant) == []
    assert "Removed" in (await api.get("/console/alerts?done=removed")).text


async def test_the_operator_manages_the_operators_alert_urls(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    admin = await console.operator(runtime)
    csrf = await console.signed_in(api, admin.client_id, admin.secret)
    url = receiver.url("/ops")
    page = await _add(api, csrf, url)
    assert page.status_code == 200, page.text
    (target,) = await runtime.alerts.targets(OPERATOR)
    assert target.url == url
    assert sorted(target.event_types) == sorted(alerts.EVENT_TYPES)
    assert await _own(runtime, admin) == []  # the operator's, not the admin client's own
    assert "every tenant" in (await api.get("/console/alerts")).text
    assert (await _remove(api, csrf, url)).status_code == 303
    assert await runtime.alerts.targets(OPERATOR) == []
