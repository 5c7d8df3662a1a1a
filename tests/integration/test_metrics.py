"""`/metrics` scraped while deliveries run, against real receivers: each figure equals what the
store holds (counted here with SQL of the test's own), or the change of a counter equals the
requests the test made."""

from __future__ import annotations

from collections import Counter
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


async def _store_results(runtime: Runtime) -> dict[tuple[str, str], int]:
    """Each attempt row classified as `hookyard_delivery_results` counts it, by product: a
    success; the last try of a failed delivery (gone when it answered 410); else retrying."""
    a, d, s = schema.attempts, schema.deliveries, schema.subscriptions
    query = select(
        s.c.product,
        a.c.outcome,
        a.c.number,
        a.c.status_code,
        d.c.state,
        d.c.attempts,
        d.c.earlier_attempts,
    ).select_from(a.join(d, d.c.id == a.c.delivery_id).join(s, s.c.id == d.c.subscription_id))
    results: Counter[tuple[str, str]] = Counter()
    async with runtime.store.db.read() as connection:
        for product, outcome, number, status, state, tries, earlier in await connection.execute(
            query
        ):
            if outcome == "success":
                result = "succeeded"
            elif state == "failed" and number == earlier + tries:
                result = "gone" if status == 410 else "exhausted"
            else:
                result = "retrying"
            results[(product, result)] += 1
    return dict(results)


def _results(before: Samples, after: Samples) -> dict[tuple[str, str], int]:
    """The change of `hookyard_delivery_results_total` between two scrapes, by label."""
    found: dict[tuple[str, str], int] = {}
    for (name, labels), count in after.items():
        if name == "hookyard_delivery_results_total":
            key = (dict(labels)["product"], dict(labels)["outcome"])
            change = int(count - before.get((name, labels), 0.0))
            if change:
                found[key] = change
    return found


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
        await _subscribe(api, me, receiver.url("/failing"), "EquipmentCreated")
        await _subscribe(api, me, receiver.url("/gone"), "EquipmentDeleted")
        slow.answer("/hook", Behaviour(blackhole=True))  # challenged already: now it hangs
        receiver.answer("/failing", Behaviour(status=500))
        receiver.answer("/gone", Behaviour(status=410))
        async with engine.running_worker(wired.store, timeout=60):
            publish = engine.events(wired.store).publish
            types = ["EmployeeCreated"] * 5 + ["LocationDeleted"] * 3
            types += ["EquipmentCreated", "EquipmentDeleted"]
            for number, event_type in enumerate(types):
                event = {"eventType": event_type, "companyId": me.tenant.company.id}
                event.update(businessUnitId=me.unit, id=f"e-{number}")
                await publish("setups", event, publisher_id="pub")
            await receiver.wait_for(lambda: len(receiver.posts("/hook")) == 5, what="5 deliveries")
            await slow.wait_for(lambda: len(slow.posts()) == 3, what="3 hanging deliveries")

            async def recorded() -> bool:
                counts = await _store_counts(wired)
                return (
                    counts["deliveries"].get(("setups", "succeeded")) == 5
                    and counts["deliveries"].get(("setups", "failed")) == 2
                )

            await engine.eventually(recorded, what="5 deliveries recorded, 2 given up")

            async def counted() -> bool:
                return _results(before, await scrape(api)) == await _store_results(wired)

            await engine.eventually(counted, what="the results counter to match the store")
            after = await scrape(api)
            store = await _store_counts(wired)
            results = await _store_results(wired)
    finally:
        await slow.stop()

    assert value(after, "hookyard_deliveries", product="setups", state="succeeded") == 5
    assert value(after, "hookyard_deliveries", product="setups", state="failed") == 2
    assert store["deliveries"][("setups", "in_flight")] == 3
    assert value(after, "hookyard_deliveries", product="setups", state="in_flight") == 3
    slow_host = f"127.0.0.1:{slow.port}"
    assert store["in_flight"] == {(slow_host,): 3}
    assert value(after, "hookyard_in_flight", host=slow_host) == 3
    assert value(after, "hookyard_subscriptions", product="setups", status="Active") == 2
    assert value(after, "hookyard_subscriptions", product="setups", status="Stopped") == 2
    assert store["subscriptions"] == {("setups", "Active"): 2, ("setups", "Stopped"): 2}
    assert value(after, "hookyard_queue_due") == 0

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # 5 successes; 5 tries of the failing url (4 retried, the last exhausted); one 410.
    assert results == {
        ("setups", "succeeded"): 5,
        ("setups", "retrying"): 4,
        ("setups", "exhausted"): 1,
        ("setups", "gone"): 1,
    }
    assert _results(before, after) == results
    assert delta("hookyard_delivery_attempts_total", outcome="success") == 5
    assert delta("hookyard_delivery_attempts_total", outcome="http_error") == 6
    assert store["attempts"] == {("success",): 5, ("http_error",): 6}
    assert delta("hookyard_events_ingested_total", product="setups") == 10
    assert delta("hookyard_deliveries_created_total", product="setups") == 10
    assert delta("hookyard_challenges_total", result="passed") == 4
    assert delta("hookyard_token_requests_total", result="issued") == 1
    assert delta("hookyard_delivery_seconds_count") == 11


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
