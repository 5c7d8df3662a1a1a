"""Alert urls are subscription records of the built-in product `hookyard`, which is not in the
catalog. The console's subscription pages list them apart (under "Alert urls", managed on the
Alerts page) for the integrator that owns them and for the operator, and a test event on one is
refused with 409: test events are for product subscriptions, alert urls get operational events.
In-process, on both databases."""

from __future__ import annotations

import html

import httpx

from hookyard.cli.runtime import Runtime
from hookyard.services import alerts
from tests.support import console
from tests.support.actors import OPERATOR, integrator
from tests.support.receiver import Receiver
from tests.support.tenants import Tenant, make_tenant

URL = "https://callback.example/hook"


async def _alert_record(runtime: Runtime, tenant: Tenant, url: str) -> str:
    """The tenant's own alert url `url`; the id of one of its records."""
    await runtime.alerts.add(integrator(tenant.client_id, tenant.company.id), url)
    records = await runtime.store.subscriptions.live(tenant.client_id, None, limit=100)
    return next(r.id for r in records if r.product == alerts.PRODUCT.key)


async def test_the_subscriptions_pages_list_alert_urls_apart(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    tenant = await make_tenant(runtime)
    await console.precon_record(runtime, tenant, URL)
    alert_url = receiver.url("/tenant-alerts")
    await _alert_record(runtime, tenant, alert_url)
    await runtime.alerts.add(OPERATOR, receiver.url("/operator-alerts"))
    admin = await console.operator(runtime)

    for who in (tenant, admin):
        await console.signed_in(api, who.client_id, who.secret)
        for path in ("/console/", "/console/subscriptions", "/console/subscriptions?status=Active"):
            page = await api.get(path, follow_redirects=True)
            assert page.status_code == 200, page.text
            text = html.unescape(page.text)
            assert URL in text
            assert "Alert urls" in text
            assert alert_url in text
            assert 'href="/console/alerts"' in page.text
        deliveries = await api.get("/console/deliveries")
        assert deliveries.status_code == 200, deliveries.text
    operator_page = html.unescape((await api.get("/console/subscriptions")).text)
    assert receiver.url("/operator-alerts") in operator_page


async def test_a_test_event_to_an_alert_url_is_refused_and_sends_nothing(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    tenant = await make_tenant(runtime)
    record = await _alert_record(runtime, tenant, receiver.url("/tenant-alerts"))
    admin = await console.operator(runtime)
    for who in (tenant, admin):
        csrf = await console.signed_in(api, who.client_id, who.secret)
        data = {"csrf": csrf, "event_type": alerts.STOPPED}
        answer = await api.post(f"/console/subscriptions/{record}/test", data=data)
        assert answer.status_code == 409, answer.text
        text = html.unescape(answer.text)
        assert "Test events are for product subscriptions" in text
        assert "alert urls get operational events" in text
        assert "Nothing was changed." in text
    assert await runtime.store.events.count() == 0
    assert not receiver.received("POST")
