"""`/metrics` scraped while deliveries run, against real receivers: each figure equals what the
store holds (counted here with SQL of the test's own), or the change of a counter equals the
requests the test made."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from hookyard.store import schema
from tests.support import engine
from tests.support.receiver import Behaviour, Receiver
from tests.support.webhooks import Caller, app_with, caller

TOKEN = "scrape-token-of-the-test"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def metered(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    async with app_with(settings, metrics_token=TOKEN) as both:
        yield both


async def scrape(api: httpx.AsyncClient) -> Samples:
    response = await api.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# Bad input first.


async def test_metrics_are_off_without_a_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404
    assert "HOOKYARD_METRICS_TOKEN" in response.json()["detail"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]
)
async def test_a_scrape_without_the_token_is_refused(
    metered: tuple[httpx.AsyncClient, Runtime], headers: dict[str, str]
) -> None:
    api, _ = metered
    response = await api.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "Authorization: Bearer <HOOKYARD_METRICS_TOKEN>" in response.json()["detail"]
    assert TOKEN not in response.text


# Figures.


async def _store_counts(runtime: Runtime) -> dict[str, dict[tuple[str, ...], int]]:
    d, s = schema.deliveries, schema.subscriptions
    queries = {
        "deliveries": select(s.c.product, d.c.state, func.count())
        .select_from(d.join(s))
        .group_by(s.c.product, d.c.state),
        "subscriptions": select(s.c.product, s.c.status, func.count()).group_by(
            s.c.product, s.c.status
        ),
        "in_flight": select(d.c.host, func.count())
        .where(d.c.state == "in_flight")
        .group_by(d.c.host),
        "attempts": select(schema.attempts.c.outcome, func.count()).group_by(
            schema.attempts.c.outcome
        ),
    }
    counts: dict[str, dict[tuple[str, ...], int]] = {}
    async with runtime.store.db.read() as connection:
        for name, query in queries.items():
            rows = (await connection.execute(query)).all()
            counts[name] = {tuple(row[:-1]): row[-1] for row in rows}
    return counts


async def _subscribe(api: httpx.AsyncClient, me: Caller, url: str, event_type: str) -> None:
    body = {"url": url, "eventTypes": [event_type]}
    response = await api.post(me.path("setups"), json=body, headers=me.headers)
    assert response.status_code == 200, response.text


async def test_a_scrape_while_deliveries_run_matches_the_store(
    metered: tuple[httpx.AsyncClient, Runtime], receiver: Receiver
) -> None:
    api, wired = metered
    slow = await Receiver.start()
    try:
        before = await scrape(api)
        me = await caller(api, wired)
        await _subscribe(api, me, receiver.url("/hook"), "EmployeeCreated")
        await _subscribe(api, me, slow.url("/hook"), "LocationDeleted")
        slow.answer("/hook", Behaviour(blackhole=True))  # challenged already: now it hangs
        async with engine.running_worker(wired.store, timeout=60):
            publish = engine.events(wired.store).publish
            for number in range(8):
                event_type = "EmployeeCreated" if number < 5 else "LocationDeleted"
                event = {"eventType": event_type, "companyId": me.tenant.company.id}
                event.update(businessUnitId=me.unit, id=f"e-{number}")
                await publish("setups", event, publisher_id="pub")
            await receiver.wait_for(lambda: len(receiver.posts()) == 5, what="5 deliveries")
            await slow.wait_for(lambda: len(slow.posts()) == 3, what="3 hanging deliveries")

            async def recorded() -> bool:
                counts = await _store_counts(wired)
                return counts["deliveries"].get(("setups", "succeeded")) == 5

            await engine.eventually(recorded, what="5 deliveries recorded")
            after = await scrape(api)
            store = await _store_counts(wired)
    finally:
        await slow.stop()

    assert value(after, "hookyard_deliveries", product="setups", state="succeeded") == 5
    assert store["deliveries"][("setups", "in_flight")] == 3
    assert value(after, "hookyard_deliveries", product="setups", state="in_flight") == 3
    slow_host = f"127.0.0.1:{slow.port}"
    assert store["in_flight"] == {(slow_host,): 3}
    assert value(after, "hookyard_in_flight", host=slow_host) == 3
    assert value(after, "hookyard_subscriptions", product="setups", status="Active") == 2
    assert store["subscriptions"] == {("setups", "Active"): 2}
    assert value(after, "hookyard_queue_due") == 0

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("hookyard_delivery_attempts_total", outcome="success") == 5
    assert store["attempts"] == {("success",): 5}
    assert delta("hookyard_events_ingested_total", product="setups") == 8
    assert delta("hookyard_deliveries_created_total", product="setups") == 8
    assert delta("hookyard_challenges_total", result="passed") == 2
    assert delta("hookyard_token_requests_total", result="issued") == 1
    assert delta("hookyard_delivery_seconds_count") == 5


async def test_the_oldest_due_delivery_and_failed_tokens_are_counted(
    metered: tuple[httpx.AsyncClient, Runtime], receiver: Receiver
) -> None:
    api, wired = metered
    me = await caller(api, wired)
    await _subscribe(api, me, receiver.url("/hook"), "EmployeeCreated")
    before = await scrape(api)
    event = {"eventType": "EmployeeCreated", "companyId": me.tenant.company.id}
    event.update(businessUnitId=me.unit, id="e-1")
    await engine.events(wired.store).publish("setups", event, publisher_id="pub")
    form = {"grant_type": "client_credentials", "client_id": me.client_id, "client_secret": "no"}
    assert (await api.post("/identity/connect/token", data=form)).status_code == 401
    after = await scrape(api)  # no worker runs: the delivery waits
    assert value(after, "hookyard_queue_due") == 1
    assert value(after, "hookyard_queue_oldest_due_seconds") >= 0
    assert value(after, "hookyard_deliveries", product="setups", state="pending") == 1
    failed = value(after, "hookyard_token_requests_total", result="invalid_client")
    assert failed - value(before, "hookyard_token_requests_total", result="invalid_client") == 1
