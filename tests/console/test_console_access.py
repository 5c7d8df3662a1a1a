"""The hostile review's console findings (issue 16), each against the one authority in
`services.access`: a disconnected partner reaches nothing of the company that disconnected it,
console reactivation meets the approval gate, and a publishing back end is no console login."""

from __future__ import annotations

import dataclasses

import httpx

from hookyard import models
from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from hookyard.services import access
from hookyard.store.subscriptions import DISCONNECTED
from tests.support import console
from tests.support.receiver import Receiver
from tests.support.tenants import Tenant, bearer, company_token, make_tenant, token
from tests.support.webhooks import BASE, app_with, records

STOPPED = models.SubscriptionStatus.STOPPED
TYPES = ["EmployeeCreated"]


@dataclasses.dataclass(frozen=True)
class Partner:
    id: str
    client_id: str
    secret: str


async def _partner(runtime: Runtime, *companies: Tenant) -> Partner:
    credentials = runtime.credentials
    partner = await credentials.create_partner("Integrations Inc")
    issued = await credentials.create_client(scopes=["dis:read"], partner_id=partner.id)
    for company in companies:
        await credentials.set_connection(partner.id, company.company.id, True)
    return Partner(partner.id, issued.client.id, issued.secret)


async def _subscribe(
    api: httpx.AsyncClient, runtime: Runtime, partner: Partner, company: Tenant, url: str
) -> models.Subscription:
    """The partner's setups record of `url` for `company`, made through the API."""
    issued = await company_token(api, partner.client_id, partner.secret, company.company.id)
    body = {"url": url, "eventTypes": TYPES}
    answer = await api.post(f"{BASE}/setups", json=body, headers=bearer(issued))
    assert answer.status_code == 200, answer.text
    mine = await records(runtime, partner.client_id)
    return next(r for r in mine if r.company_id == company.company.id and r.callback_url == url)


async def test_a_partner_disconnected_by_one_company_reaches_nothing_of_it(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    a, b = await make_tenant(runtime, "Disconnects Co"), await make_tenant(runtime, "Keeps Co")
    partner = await _partner(runtime, a, b)
    theirs = await _subscribe(api, runtime, partner, a, receiver.url("/a"))
    kept = await _subscribe(api, runtime, partner, b, receiver.url("/b"))
    assert await runtime.credentials.set_connection(partner.id, a.company.id, False)
    (stopped,) = [r for r in await records(runtime, partner.client_id) if r.id == theirs.id]
    assert (stopped.status, stopped.stop_reason) == (STOPPED, DISCONNECTED)

    csrf = await console.signed_in(api, partner.client_id, partner.secret)
    page = await api.get("/console/subscriptions")
    assert kept.callback_url in page.text
    assert theirs.callback_url not in page.text, "the disconnected company's record is shown"
    refused = await api.post(f"/console/subscriptions/{theirs.id}/reactivate", data={"csrf": csrf})
    assert refused.status_code == 404
    rotated = await api.post(f"/console/subscriptions/{theirs.id}/rotate", data={"csrf": csrf})
    assert rotated.status_code == 404
    after = await runtime.store.subscriptions.get(theirs.id)
    assert after == stopped, "a refused action changed the record"
    challenges = receiver.received("GET", "/a")
    assert len(challenges) == 1, "the disconnected company's url was challenged again"


async def test_a_partner_connected_to_no_company_cannot_sign_in_and_its_session_ends(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    a = await make_tenant(runtime, "Only Co")
    partner = await _partner(runtime, a)
    await console.signed_in(api, partner.client_id, partner.secret)
    assert await runtime.credentials.set_connection(partner.id, a.company.id, False)
    ended = await api.get("/console/subscriptions")
    assert ended.status_code == 401
    assert "sign in" in ended.text.lower()
    again = await console.sign_in(api, partner.client_id, partner.secret)
    assert again.status_code == 403
    assert "hookyard_console=" not in again.headers.get("set-cookie", "")


async def test_console_reactivation_meets_the_approval_gate(
    settings: Settings, receiver: Receiver
) -> None:
    async with app_with(settings, approval_hosts=["127.0.0.1"]) as (api, runtime):
        tenant = await make_tenant(runtime)
        record_id = await console.precon_record(runtime, tenant, receiver.url("/gated"))
        await console.stop_record(runtime.store, record_id, "5 tries failed")
        csrf = await console.signed_in(api, tenant.client_id, tenant.secret)
        answer = await api.post(
            f"/console/subscriptions/{record_id}/reactivate", data={"csrf": csrf}
        )
        assert answer.status_code == 403
        assert "approval" in answer.text
        record = await runtime.store.subscriptions.get(record_id)
        assert record is not None
        assert record.status is STOPPED
        assert not receiver.received(), "the unapproved host was challenged"
        (pending,) = await runtime.store.approvals.listed(models.ApprovalStatus.PENDING)
        assert pending.client_id == tenant.client_id


async def test_a_publishing_back_end_is_no_console_login_and_no_operator(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    await console.precon_record(runtime, tenant, "https://callback.example/hook")
    backend = await runtime.credentials.create_client(
        scopes=["events:publish", "hookyard:admin"], company_id=tenant.company.id
    )
    refused = await console.sign_in(api, backend.client.id, backend.secret)
    assert refused.status_code == 403
    assert "it has no console" in refused.text
    assert "hookyard_console=" not in refused.headers.get("set-cookie", "")
    headers = bearer(await token(api, backend.client.id, backend.secret))
    listed = await api.get("/hookyard/api/v1/subscriptions", headers=headers)
    assert listed.status_code == 200
    assert listed.json()["results"] == [], "a publishing credential saw every tenant's records"


async def test_the_operator_role_opens_the_operators_pages_and_admin_alone_does_not(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    publisher = await make_tenant(runtime, "Back End Co", scopes=["precon:read", "hookyard:admin"])
    await console.signed_in(api, publisher.client_id, publisher.secret)
    assert (await api.get("/console/tenants")).status_code == 403
    ops = await make_tenant(runtime, "Ops Co", scopes=[access.OPERATOR])
    await console.signed_in(api, ops.client_id, ops.secret)
    page = await api.get("/console/tenants")
    assert page.status_code == 200
    assert "Back End Co" in page.text
