"""Each Stop is announced once and each reactivation is announced, whatever path made it.

`subscription.stopped`: the last failed try and a 410 Gone Stop a record; when several of its
deliveries give up (in one batch or in batches recorded one after the other, by one worker or
by several), the record is Stopped once and announced once. `subscription.reactivated`: a POST
or PUT of the url, the console's Reactivate, a partner's reconnection and a probe of a url whose
client chose `autoReactivate` each announce the records they made Active again."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from hookyard.cli.runtime import Runtime
from hookyard.clock import utcnow
from hookyard.delivery.netguard import Guard
from hookyard.delivery.prober import Prober
from hookyard.probe_schedule import ProbeSchedule
from hookyard.services import alerts
from hookyard.services.probes import UrlProbes
from hookyard.store import Store, schema
from hookyard.store.queue import Claimed, ClaimRequest
from tests.support import engine, tenancy
from tests.support.actors import integrator
from tests.support.receiver import Behaviour, Receiver
from tests.support.tries import tried
from tests.support.webhooks import caller

STOPPED_LINE = f"operational event {alerts.STOPPED}:"
REACTIVATED_LINE = f"operational event {alerts.REACTIVATED}:"


def _lines(caplog: pytest.LogCaptureFixture, start: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "hookyard.alerts" and r.getMessage().startswith(start)
    ]


async def _two_deliveries(store: Store, url: str) -> tuple[str, list[Claimed]]:
    """A record of `url` with two deliveries, both claimed (in flight together)."""
    tenant = await tenancy.add_tenant(store)
    unit = await tenancy.add_unit(store, tenant)
    record = await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", url)
    event = {"eventType": "EmployeeCreated", "companyId": tenant.company_id}
    event.update(businessUnitId=unit, id="e-1")
    await engine.events(store).publish_many("setups", [event, event], publisher_id="pub")
    claimed = await store.queue.claim(ClaimRequest(10, 60))
    assert len(claimed) == 2
    return record, claimed


async def test_two_deliveries_giving_up_in_two_batches_announce_one_stop(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hookyard.alerts")
    store = runtime.store
    record, (first, second) = await _two_deliveries(store, "http://dead.test/hook")
    started = utcnow()  # both tries were in flight before either was recorded
    one = [tried(first, stop=True, started_at=started)]
    stopped = await store.queue.finish(one, now=utcnow())
    assert stopped == {record}
    await runtime.events.recorded(one, stopped)
    two = [tried(second, stop=True, started_at=started)]
    stopped_again = await store.queue.finish(two, now=utcnow())
    assert stopped_again == frozenset()
    await runtime.events.recorded(two, stopped_again)

    assert len(_lines(caplog, STOPPED_LINE)) == 1
    assert len(_lines(caplog, f"operational event {alerts.EXHAUSTED}:")) == 2
    status, reason = await tenancy.subscription_status(store, record)
    assert (status, reason) == ("Stopped", "5 tries failed; the last one: HTTP 500")


async def test_two_deliveries_giving_up_in_one_batch_announce_one_stop(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hookyard.alerts")
    store = runtime.store
    record, claimed = await _two_deliveries(store, "http://dead.test/hook")
    batch = [tried(job, stop=True, started_at=utcnow()) for job in claimed]
    stopped = await store.queue.finish(batch, now=utcnow())
    assert stopped == {record}
    await runtime.events.recorded(batch, stopped)
    assert len(_lines(caplog, STOPPED_LINE)) == 1


async def test_a_410_gone_through_the_worker_announces_one_stop(
    runtime: Runtime, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hookyard.alerts")
    store = runtime.store
    url = receiver.url("/gone")
    receiver.answer("/gone", Behaviour(status=410))
    tenant = await tenancy.add_tenant(store)
    unit = await tenancy.add_unit(store, tenant)
    record = await tenancy.subscribe(store, tenant, "setups", "EmployeeCreated", url)
    event = {"eventType": "EmployeeCreated", "companyId": tenant.company_id}
    event.update(businessUnitId=unit, id="e-1")
    await engine.events(store).publish_many("setups", [event] * 3, publisher_id="pub")

    async with engine.running_worker(store, on_exhausted=runtime.events.recorded) as worker:

        async def settled() -> bool:
            states = sorted((await tenancy.delivery_states(store)).values())
            return "pending" not in states and "in_flight" not in states

        await engine.eventually(settled, what="every delivery tried or held")
        await engine.eventually(
            lambda: _async(worker.recorded >= 1), what="the worker recorded its tries"
        )
    assert await tenancy.subscription_status(store, record) == ("Stopped", "410 Gone")
    assert len(_lines(caplog, STOPPED_LINE)) == 1, _lines(caplog, STOPPED_LINE)


async def _async(value: bool) -> bool:
    return value


# subscription.reactivated on every path


async def _stopped_record(runtime: Runtime, api: httpx.AsyncClient, url: str) -> tuple[str, str]:
    """A client's record of `url`, subscribed through the API and then Stopped; (client, id)."""
    me = await caller(api, runtime)
    body = {"url": url, "eventTypes": ["EmployeeCreated"]}
    response = await api.post(me.path("setups"), json=body, headers=me.headers)
    assert response.status_code == 200, response.text
    (record,) = await runtime.store.subscriptions.of_client(me.client_id)
    await _stop(runtime.store, record.id, "5 tries failed; the last one: HTTP 500")
    return me.client_id, record.id


async def _stop(store: Store, record_id: str, reason: str) -> None:
    table = schema.subscriptions
    async with store.db.write() as connection:
        await connection.execute(
            update(table)
            .where(table.c.id == record_id)
            .values(status="Stopped", status_changed_at=utcnow(), stop_reason=reason)
        )


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_a_post_or_put_of_the_url_announces_the_reactivation(
    api: httpx.AsyncClient,
    runtime: Runtime,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    method: str,
) -> None:
    caplog.set_level(logging.INFO, logger="hookyard.alerts")
    me = await caller(api, runtime)
    body = {"url": receiver.url("/hook"), "eventTypes": ["EmployeeCreated"]}
    assert (await api.post(me.path("setups"), json=body, headers=me.headers)).status_code == 200
    (record,) = await runtime.store.subscriptions.of_client(me.client_id)
    await _stop(runtime.store, record.id, "5 tries failed")
    again = await api.request(method, me.path("setups"), json=body, headers=me.headers)
    assert again.status_code == 200, again.text
    (line,) = _lines(caplog, REACTIVATED_LINE)
    assert me.client_id in line


async def test_the_consoles_reactivate_announces_the_reactivation(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hookyard.alerts")
    client_id, record_id = await _stopped_record(runtime, api, receiver.url("/hook"))
    records = runtime.console_context().records
    receiver.answer("/hook", Behaviour(status=500))
    with pytest.raises(Exception, match="challenge"):
        await records.reactivate(integrator(client_id), record_id)
    assert _lines(caplog, REACTIVATED_LINE) == []  # refused: nothing changed, nothing said
    receiver.answer("/hook", Behaviour())
    assert await records.reactivate(integrator(client_id), record_id) == 1
    (line,) = _lines(caplog, REACTIVATED_LINE)
    assert client_id in line


async def test_a_partner_reconnect_announces_the_reactivation(
    api: httpx.AsyncClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hookyard.alerts")
    credentials = runtime.credentials
    company = await credentials.create_company("Connected Paving")
    partner = await credentials.create_partner("Estimating Partner")
    issued = await credentials.create_client(scopes=["dis:read"], partner_id=partner.id)
    await credentials.set_connection(partner.id, company.id, True)
    partner_client = tenancy.Tenant(company.id, issued.client.id)
    url = "http://partner.test/hook"
    record = await tenancy.subscribe(
        runtime.store, partner_client, "setups", "EmployeeCreated", url
    )

    await credentials.set_connection(partner.id, company.id, False)
    assert await tenancy.subscription_status(runtime.store, record) == ("Stopped", "disconnected")
    (stopped,) = _lines(caplog, STOPPED_LINE)
    assert "(disconnected)" in stopped
    await credentials.set_connection(partner.id, company.id, True)
    assert await tenancy.subscription_status(runtime.store, record) == ("Active", None)
    (line,) = _lines(caplog, REACTIVATED_LINE)
    assert issued.client.id in line
    await credentials.set_connection(partner.id, company.id, True)  # no change: nothing said
    assert len(_lines(caplog, REACTIVATED_LINE)) == 1


def _probes_due_now(runtime: Runtime) -> UrlProbes:
    """The url prober as a worker runs it, an hour and a minute from now: the first probe of a
    Stopped url is due."""
    later = utcnow() + timedelta(hours=1, minutes=1)
    return UrlProbes(
        runtime.store,
        Prober(Guard.build(allow_private=True), timeout=5),
        ProbeSchedule(),
        announce=runtime.events.url_recovered,
        now=lambda: later,
    )


async def test_a_probe_with_auto_reactivate_announces_the_reactivation(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hookyard.alerts")
    me = await caller(api, runtime)
    body = {"url": receiver.url("/auto"), "eventTypes": ["EmployeeCreated"], "autoReactivate": True}
    assert (await api.post(me.path("setups"), json=body, headers=me.headers)).status_code == 200
    (record,) = await runtime.store.subscriptions.of_client(me.client_id)
    await _stop(runtime.store, record.id, "5 tries failed")
    url_probes = _probes_due_now(runtime)
    report = await url_probes.run_once()
    assert report.reactivated == [receiver.url("/auto")]
    (line,) = _lines(caplog, REACTIVATED_LINE)
    assert me.client_id in line
    assert len(_lines(caplog, f"operational event {alerts.URL_RECOVERED}:")) == 1


async def test_a_probe_without_auto_reactivate_announces_no_reactivation(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hookyard.alerts")
    _, record_id = await _stopped_record(runtime, api, receiver.url("/manual"))
    url_probes = _probes_due_now(runtime)
    assert (await url_probes.run_once()).recovered == [receiver.url("/manual")]
    assert _lines(caplog, REACTIVATED_LINE) == []
    assert len(_lines(caplog, f"operational event {alerts.URL_RECOVERED}:")) == 1
    assert (await tenancy.subscription_status(runtime.store, record_id))[0] == "Stopped"
