"""The console over HTTP, in-process on both databases: sign-in, sessions, CSRF, tenant
isolation and bad input. Each refusal is a readable page and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from hookyard.cli.runtime import Runtime
from hookyard.store.history import Query
from tests.support import console, engine, tenancy
from tests.support.tenants import Tenant, make_tenant

URL = "https://callback.example/hook"


async def _published(runtime: Runtime, tenant: Tenant) -> str:
    """One ProjectCreated event of the tenant's first unit; its (only) delivery's id."""
    event = {
        "eventType": "ProjectCreated",
        "companyId": tenant.company.id,
        "businessUnitId": tenant.units[0].id,
        "projectId": "p-1",
    }
    published = await engine.events(runtime.store).publish("precon", event, publisher_id="pub")
    (record,) = await runtime.store.history.list(Query(event_id=published.event_id))
    return record.delivery.id


async def test_a_wrong_secret_is_refused_and_starts_no_session(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    answer = await console.sign_in(api, tenant.client_id, "not-the-secret")
    assert answer.status_code == 401
    assert "Wrong client id or secret" in answer.text
    assert "hookyard_console=" not in answer.headers.get("set-cookie", "")
    assert (await api.get("/console/subscriptions")).status_code == 401


async def test_a_session_cookie_is_http_only_and_same_site_strict(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    answer = await console.sign_in(api, tenant.client_id, tenant.secret)
    assert answer.status_code == 303
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("hookyard_console=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/console" in cookie


async def test_a_sign_in_without_its_form_token_is_refused(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    form = {"client_id": tenant.client_id, "client_secret": tenant.secret, "csrf": "forged"}
    answer = await api.post("/console/login", data=form)
    assert answer.status_code == 403
    assert "sign in again" in answer.text


@pytest.mark.parametrize("token", [None, "forged"])
async def test_a_form_without_the_session_token_changes_nothing(
    api: httpx.AsyncClient, runtime: Runtime, token: str | None
) -> None:
    tenant = await make_tenant(runtime)
    await console.precon_record(runtime, tenant, URL)
    delivery = await _published(runtime, tenant)
    await console.signed_in(api, tenant.client_id, tenant.secret)
    before = await runtime.store.history.get(delivery)
    data = {} if token is None else {"csrf": token}
    answer = await api.post(f"/console/deliveries/{delivery}/redeliver", data=data)
    assert answer.status_code == 403
    assert "security token is missing or wrong" in answer.text
    assert await runtime.store.history.get(delivery) == before


async def test_another_tenants_ids_are_not_found_and_show_nothing_of_it(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    owner = await make_tenant(runtime)
    record = await console.precon_record(runtime, owner, "https://owner.example/secret-path")
    delivery = await _published(runtime, owner)
    stranger = await make_tenant(runtime, "Other Co")
    csrf = await console.signed_in(api, stranger.client_id, stranger.secret)
    for answer in (
        await api.get(f"/console/deliveries/{delivery}"),
        await api.post(f"/console/deliveries/{delivery}/redeliver", data={"csrf": csrf}),
        await api.post(f"/console/subscriptions/{record}/rotate", data={"csrf": csrf}),
        await api.post(
            f"/console/subscriptions/{record}/test",
            data={"csrf": csrf, "event_type": "ProjectCreated"},
        ),
    ):
        assert answer.status_code == 404, answer.text
        assert "secret-path" not in answer.text
    listing = await api.get("/console/deliveries")
    assert delivery not in listing.text
    assert "secret-path" not in (await api.get("/console/subscriptions")).text


async def test_a_time_range_that_does_not_parse_is_named(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    await console.signed_in(api, tenant.client_id, tenant.secret)
    answer = await api.get("/console/deliveries", params={"since": "yesterday-ish"})
    assert answer.status_code == 400
    assert "&#39;yesterday-ish&#39; is not a time" in answer.text
    backwards = {"since": "2026-11-29T10:00", "until": "2026-11-29T09:00"}
    assert (await api.get("/console/deliveries", params=backwards)).status_code == 400


async def test_a_test_event_of_a_product_without_scope_is_refused(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime, scopes=("dis:read",))
    record = await console.precon_record(runtime, tenant, URL)
    csrf = await console.signed_in(api, tenant.client_id, tenant.secret)
    data = {"csrf": csrf, "event_type": "ProjectCreated"}
    answer = await api.post(f"/console/subscriptions/{record}/test", data=data)
    assert answer.status_code == 403
    assert "lacks the scope precon:read" in answer.text
    assert await runtime.store.events.count() == 0


async def test_a_test_event_goes_to_the_callers_own_record_only(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    record = await console.precon_record(runtime, tenant, URL)
    neighbour = tenancy.Tenant(tenant.company.id, (await make_tenant(runtime, "N")).client_id)
    await tenancy.subscribe(
        runtime.store, neighbour, "precon", "ProjectCreated", URL, partition=tenant.units[0].id
    )
    csrf = await console.signed_in(api, tenant.client_id, tenant.secret)
    data = {"csrf": csrf, "event_type": "ProjectDeleted"}
    answer = await api.post(f"/console/subscriptions/{record}/test", data=data)
    assert answer.status_code == 303
    listed = await runtime.store.history.list(Query())
    assert [(r.client_id, r.event_type) for r in listed] == [(tenant.client_id, "ProjectDeleted")]


async def test_an_expired_session_shows_the_sign_in_page(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    await console.signed_in(api, tenant.client_id, tenant.secret)
    await console.expire_sessions(runtime.store)
    answer = await api.get("/console/deliveries")
    assert answer.status_code == 401
    assert "Your session has expired" in answer.text


async def test_sign_out_ends_the_session(api: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant = await make_tenant(runtime)
    csrf = await console.signed_in(api, tenant.client_id, tenant.secret)
    assert (await api.post("/console/logout", data={"csrf": csrf})).status_code == 303
    assert (await api.get("/console/subscriptions")).status_code == 401


async def test_the_operator_pages_are_for_the_operator_only(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    await console.precon_record(runtime, tenant, "https://tenant.example/hook")
    await _published(runtime, tenant)
    await console.signed_in(api, tenant.client_id, tenant.secret)
    assert (await api.get("/console/tenants")).status_code == 403
    assert (await api.get("/console/queue")).status_code == 403
    admin = await console.operator(runtime)
    await console.signed_in(api, admin.client_id, admin.secret)
    tenants = await api.get("/console/tenants")
    assert tenant.company.name in tenants.text
    assert tenant.client_id in tenants.text
    queue = await api.get("/console/queue")
    assert "callback.example:443" not in queue.text
    assert "tenant.example:443" in queue.text
    assert "https://tenant.example/hook" in (await api.get("/console/deliveries")).text


async def test_approval_decisions_are_for_the_operator_with_the_form_token(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    csrf = await console.signed_in(api, tenant.client_id, tenant.secret)
    assert (await api.get("/console/approvals")).status_code == 403
    answer = await api.post("/console/approvals/apr_nope/approve", data={"csrf": csrf})
    assert answer.status_code == 403
    admin = await console.operator(runtime)
    csrf = await console.signed_in(api, admin.client_id, admin.secret)
    assert (await api.get("/console/approvals", params={"status": "maybe"})).status_code == 400
    missing = await api.post("/console/approvals/apr_nope/approve", data={"csrf": csrf})
    assert missing.status_code == 404
    assert "no approval request" in missing.text
