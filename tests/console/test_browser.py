"""The console in real Chromium against a real `hookyard serve` (API, console and worker in one
process on SQLite) and a real receiver on 127.0.0.1. One browser for the module; each test has
its own browser context (cookies). Every page visited is saved as a screenshot at both widths
(`tests/artifacts/console/`)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    async_playwright,
    expect,
)
from standardwebhooks import Webhook

from hookyard import errors, models
from hookyard.cli import runtime as runtimes
from hookyard.config import Settings
from hookyard.services.approvals import Approvals
from hookyard.services.subscriptions import Owner
from hookyard.store.history import Query
from tests.support import browser, console, databases, engine, server
from tests.support.actors import OPERATOR, integrator
from tests.support.receiver import Behaviour, Receiver
from tests.support.tenants import Tenant, make_tenant, token

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
module_fixture = pytest_asyncio.fixture(scope="module", loop_scope="module")
TIMEOUT_MS = 20_000


@dataclass
class Site:
    """The running console, the test process's view of its database, and the receiver."""

    base: str
    runtime: runtimes.Runtime
    receiver: Receiver
    browser: Browser


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    browser.require_chromium()
    directory = tmp_path_factory.mktemp("console")
    databases.sqlite_copy(sqlite_template, directory)
    return directory


@pytest.fixture(scope="module")
def settings(workdir: Path) -> Settings:
    return Settings(
        data_dir=workdir / "data",
        database_url=f"sqlite+aiosqlite:///{workdir / 'hookyard.db'}",
        allow_private_callbacks=True,
    )


@pytest.fixture(scope="module")
def serving(workdir: Path, settings: Settings) -> Iterator[str]:
    wired = runtimes.build(settings)  # creates the keys the served process shares
    env = server.environment(
        settings.data_dir,
        **{
            "database_url": settings.database_url,
            "allow_private_callbacks": "true",
            "max_attempts": "1",
            "poll_interval_seconds": "0.1",
            "log_level": "WARNING",
            "approval_hosts": "127.0.0.1",
        },
    )
    del wired
    # A generous start: the whole suite runs beside it on two cores.
    with server.hookyard(["serve"], env, workdir, start_timeout=90) as running:
        yield running.base_url


@module_fixture
async def site(serving: str, settings: Settings) -> AsyncIterator[Site]:
    wired = runtimes.build(settings)
    receiver = await Receiver.start()
    expect.set_options(timeout=TIMEOUT_MS)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(browser.CHROMIUM))
        try:
            yield Site(serving, wired, receiver, chromium)
        finally:
            await chromium.close()
            await receiver.stop()
            await wired.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(site: Site) -> AsyncIterator[Page]:
    """A page of a fresh context; every test's pages must raise no Content-Security-Policy
    violation (Chromium reports each on the page's console)."""
    context: BrowserContext = await site.browser.new_context(
        viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = await context.new_page()
    violations = _csp_violations(opened)
    yield opened
    await context.close()
    assert violations == [], "the console broke its Content-Security-Policy"


def _csp_violations(page: Page) -> list[str]:
    """The page's console messages about its Content-Security-Policy, as they come."""
    found: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(f"{page.url}: {message.text}")

    page.on("console", seen)
    return found


async def _sign_in(page: Page, site: Site, tenant: Tenant, secret: str | None = None) -> None:
    await page.goto(f"{site.base}/console/login")
    await page.get_by_label("Client id").fill(tenant.client_id)
    await page.get_by_label("Client secret").fill(secret or tenant.secret)
    await page.get_by_role("button", name="Sign in").click()


async def _approved_record(
    site: Site, tenant: Tenant, url: str, *, secret: str | None = None
) -> str:
    """A Pre-Con record of `url` whose host (127.0.0.1, gated on this server) the operator
    approved for the tenant's client, as a POST through the gate would have needed."""
    record_id = await console.precon_record(site.runtime, tenant, url, secret=secret)
    record = await site.runtime.store.subscriptions.get(record_id)
    assert record is not None
    gate = Approvals(site.runtime.store, ["127.0.0.1"])
    with pytest.raises(errors.ApprovalRequired):
        await gate.gate(Owner.of(record), url)
    pending = await gate.listed(OPERATOR, "pending")
    (request,) = [a for a in pending if a.client_id == tenant.client_id]
    await gate.approve(OPERATOR, request.id)
    return record_id


async def _published(site: Site, tenant: Tenant) -> str:
    event = {
        "eventType": "ProjectCreated",
        "companyId": tenant.company.id,
        "businessUnitId": tenant.units[0].id,
        "projectId": "p-1",
    }
    published = await engine.events(site.runtime.store).publish("precon", event, publisher_id="b")
    return published.event_id


async def test_an_integrator_fixes_a_failed_delivery(site: Site, page: Page) -> None:
    tenant = await make_tenant(site.runtime, "Failing Paving")
    url = site.receiver.url("/failing")
    await _approved_record(site, tenant, url)
    site.receiver.answer("/failing", Behaviour(status=500, body="database is down"))
    await _published(site, tenant)

    await _sign_in(page, site, tenant)
    await expect(page.get_by_role("heading", name="Subscriptions")).to_be_visible()
    await page.get_by_role("link", name="Deliveries", exact=True).click()
    await page.get_by_label("State").select_option("failed")
    await page.get_by_role("button", name="Filter").click()
    failed = page.locator("table.stream tbody tr").filter(has_text="failed")
    await expect(failed).to_have_count(1)
    await expect(page).to_have_url(
        f"{site.base}/console/deliveries?state=failed&event_type=&url=&since=&until="
    )
    await browser.shoot(page, "deliveries-failed")

    await failed.get_by_role("link").click()
    attempt = page.locator("article.attempt")
    await expect(attempt).to_contain_text("500")
    await expect(attempt).to_contain_text("database is down")
    await expect(attempt).to_contain_text("ms")
    await browser.shoot(page, "delivery-failed")
    delivery_url = page.url

    await page.get_by_role("link", name="Subscriptions").click()
    stopped = page.locator("section.url.stopped")
    await expect(stopped).to_contain_text("Stopped")
    await expect(stopped).to_contain_text("the last one: HTTP 500")
    await browser.shoot(page, "subscriptions-stopped")
    await stopped.get_by_role("button", name="Reactivate (runs the challenge)").click()
    await expect(page.locator(".error")).to_contain_text("challenge")
    await browser.shoot(page, "reactivate-refused")

    site.receiver.answer("/failing", Behaviour())
    await page.goto(f"{site.base}/console/subscriptions")
    await page.get_by_role("button", name="Reactivate (runs the challenge)").click()
    await expect(page.get_by_role("status")).to_contain_text("Active again")
    await expect(page.locator("section.url.stopped")).to_have_count(0)

    await page.goto(delivery_url)
    await page.get_by_role("button", name="Redeliver").click()
    await expect(page.locator("#state")).to_have_text("succeeded")
    await expect(page.locator("article.attempt.success")).to_contain_text("200")
    await browser.shoot(page, "delivery-succeeded")
    assert len(site.receiver.posts("/failing")) == 2


async def test_an_integrator_sends_a_test_event(site: Site, page: Page) -> None:
    tenant = await make_tenant(site.runtime, "Testing Paving")
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    url = site.receiver.url("/test-events")
    await _approved_record(site, tenant, url, secret=secret)

    await _sign_in(page, site, tenant)
    await browser.shoot(page, "subscriptions")
    await page.get_by_label("Test event").select_option("ProjectDeleted")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("status")).to_contain_text("Test event sent")
    await site.receiver.wait_for(lambda: bool(site.receiver.posts("/test-events")), what="it")
    (post,) = site.receiver.posts("/test-events")
    Webhook(secret).verify(post.body, post.headers)
    body = json.loads(post.body)
    assert body["eventType"] == "ProjectDeleted"
    assert body["data"]["companyId"] == tenant.company.id
    await page.reload()
    await expect(page.locator("table.stream tbody tr")).to_contain_text("succeeded")
    await browser.shoot(page, "deliveries-test-event")


async def test_refusals_wrong_secret_forged_form_and_expired_session(
    site: Site, page: Page
) -> None:
    tenant = await make_tenant(site.runtime, "Careful Paving")
    record = await console.precon_record(site.runtime, tenant, site.receiver.url("/careful"))
    before = await site.runtime.store.subscriptions.get(record)
    await _sign_in(page, site, tenant, secret="wrong")
    await expect(page.get_by_role("alert")).to_contain_text("Wrong client id or secret")
    await browser.shoot(page, "login-refused")

    await _sign_in(page, site, tenant)
    await expect(page.get_by_role("heading", name="Subscriptions")).to_be_visible()
    await page.locator("section.url input[name=csrf]").first.evaluate("e => e.value = 'forged'")
    await page.locator("section.url").get_by_role("button", name="Rotate secret key").click()
    await expect(page.get_by_role("alert")).to_contain_text("security token is missing or wrong")
    await browser.shoot(page, "csrf-refused")
    assert await site.runtime.store.subscriptions.get(record) == before

    await page.goto(f"{site.base}/console/subscriptions")
    await page.get_by_role("button", name="Rotate secret key").click()
    await expect(page.get_by_role("heading", name="New secret key")).to_be_visible()
    rotated = await site.runtime.store.subscriptions.get(record)
    assert rotated is not None
    assert before is not None
    assert rotated.previous_secret_key == before.secret_key
    await expect(page.locator("#secret-key")).to_have_text(rotated.secret_key)
    await browser.shoot(page, "secret-rotated")

    await console.expire_sessions(site.runtime.store)
    await page.goto(f"{site.base}/console/deliveries")
    await expect(page.get_by_role("alert")).to_contain_text("Your session has expired")
    await browser.shoot(page, "session-expired")


async def test_the_operator_sees_every_tenant(site: Site, page: Page) -> None:
    # A record of its own: xdist may run this test on a worker where no other test made one.
    tenant = await make_tenant(site.runtime, "Operator View Paving")
    await console.precon_record(site.runtime, tenant, site.receiver.url("/operator-view"))
    admin = await console.operator(site.runtime)
    await _sign_in(page, site, admin)
    await expect(page.get_by_role("heading", name="Subscriptions")).to_be_visible()
    await expect(page.locator("section.url").first).to_be_visible()
    await browser.shoot(page, "operator-subscriptions")
    for name, heading in (
        ("Stopped", "Stopped subscriptions"),
        ("Tenants", "Tenants"),
        ("Queue", "Queue per callback host"),
        ("Deliveries", "Deliveries"),
    ):
        await page.get_by_role("link", name=name, exact=True).click()
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await browser.shoot(page, f"operator-{name.lower()}")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await browser.shoot(page, "login")


async def test_the_phone_header_shows_the_whole_client_label(site: Site, page: Page) -> None:
    tenant = await make_tenant(site.runtime, "Long Name Paving")
    issued = await site.runtime.credentials.create_client(
        scopes=["hookyard:operator"],
        company_id=tenant.company.id,
        name="Tri-County Paving Estimating Integration",
    )
    await page.set_viewport_size({"width": 390, "height": 844})
    await _sign_in(page, site, replace(tenant, client_id=issued.client.id, secret=issued.secret))
    label = page.locator("header .who .who-name")
    await expect(label).to_have_text("Tri-County Paving Estimating Integration (operator)")
    clipped = await label.evaluate(
        "e => e.scrollWidth > e.clientWidth || e.scrollHeight > e.clientHeight"
    )
    assert not clipped, "the client label is cut off"
    box = await label.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    await browser.shoot(page, "header-long-label")


def _unapproved(site: Site, path: str) -> str:
    """A receiver url by the name `localhost`: the served process makes `127.0.0.1` a host that
    needs approval, and alert urls are subscriptions like any other."""
    return site.receiver.url(path).replace("127.0.0.1", "localhost")


async def test_alert_urls_are_listed_added_and_removed(site: Site, page: Page) -> None:
    tenant = await make_tenant(site.runtime, "Alerting Paving")
    await _sign_in(page, site, tenant)
    await page.get_by_role("link", name="Alerts", exact=True).click()
    await expect(page.get_by_role("heading", name="Alert urls")).to_be_visible()
    await expect(page.get_by_text("No alert urls yet.")).to_be_visible()

    await page.get_by_label("Alert url").fill("not a url")
    await page.get_by_role("button", name="Add (runs the challenge)").click()
    await expect(page.get_by_role("alert")).to_contain_text("Nothing was changed.")
    await expect(page.get_by_label("Alert url")).to_have_value("not a url")
    await browser.shoot(page, "alerts-refused")
    site.receiver.answer("/alerts-down", Behaviour(status=503))
    await page.get_by_label("Alert url").fill(_unapproved(site, "/alerts-down"))
    await page.get_by_role("button", name="Add (runs the challenge)").click()
    await expect(page.get_by_role("alert")).to_contain_text("challenge")
    assert await site.runtime.alerts.targets(integrator(tenant.client_id, tenant.company.id)) == []

    url = _unapproved(site, "/tenant-alerts")
    await page.get_by_label("Alert url").fill(url)
    await page.get_by_label("subscription.approval_requested").uncheck()
    await page.get_by_role("button", name="Add (runs the challenge)").click()
    await expect(page.get_by_role("status")).to_contain_text("answered its challenge")
    card = page.locator("section.alert").filter(has_text=url)
    await expect(card).to_contain_text("subscription.stopped")
    await expect(card).not_to_contain_text("subscription.approval_requested")
    (target,) = await site.runtime.alerts.targets(integrator(tenant.client_id, tenant.company.id))
    assert target.url == url
    await expect(page.locator("#secret-key")).to_have_text(target.secret_key)
    await browser.shoot(page, "alerts-added")

    await card.get_by_role("button", name="Remove").click()
    await expect(page.get_by_role("status")).to_contain_text("Removed")
    await expect(page.get_by_text("No alert urls yet.")).to_be_visible()
    assert await site.runtime.alerts.targets(integrator(tenant.client_id, tenant.company.id)) == []

    await page.get_by_role("button", name="Sign out").click()
    admin = await console.operator(site.runtime)
    await _sign_in(page, site, admin)
    await page.get_by_role("link", name="Alerts", exact=True).click()
    await expect(page.get_by_text("every tenant's operational events")).to_be_visible()
    ops = _unapproved(site, "/operator-alerts")
    await page.get_by_label("Alert url").fill(ops)
    await page.get_by_role("button", name="Add (runs the challenge)").click()
    await expect(page.locator("section.alert").filter(has_text=ops)).to_be_visible()
    assert [t.url for t in await site.runtime.alerts.targets(OPERATOR)] == [ops]
    await page.goto(f"{site.base}/console/alerts")
    await browser.shoot(page, "operator-alerts")
    await (
        page.locator("section.alert")
        .filter(has_text=ops)
        .get_by_role("button", name="Remove")
        .click()
    )
    await expect(page.get_by_role("status")).to_contain_text("Removed")
    assert await site.runtime.alerts.targets(OPERATOR) == []


async def test_the_operator_approves_a_pending_host(site: Site, page: Page) -> None:
    tenant = await make_tenant(site.runtime, "Azure Paving")
    url = site.receiver.url("/approved")
    async with httpx.AsyncClient(base_url=site.base) as api:
        headers = {"Authorization": f"Bearer {await token(api, tenant.client_id, tenant.secret)}"}
        body = {"url": url, "eventTypes": ["EmployeeCreated"]}
        subscribe = "/webhooks/api/v1/setups"
        refused = await api.post(subscribe, json=body, headers=headers)
        assert refused.status_code == 403, refused.text
        assert "pending" in refused.json()["detail"]

        admin = await console.operator(site.runtime)
        await _sign_in(page, site, admin)
        await page.get_by_role("link", name="Approvals", exact=True).click()
        pending = page.locator("section.approval").filter(has_text=tenant.client_id)
        await expect(pending).to_contain_text("pending")
        await browser.shoot(page, "operator-approvals")
        await pending.get_by_role("button", name="Approve").click()
        await expect(page.get_by_role("status")).to_have_text("Approved.")
        await expect(
            page.locator("section.approval").filter(has_text=tenant.client_id)
        ).to_have_count(0)

        accepted = await api.post(subscribe, json=body, headers=headers)
        assert accepted.status_code in (200, 201), accepted.text
    assert site.receiver.received("GET", "/approved"), "the challenge ran after approval"


async def test_the_console_renders_under_its_content_security_policy(
    site: Site, page: Page
) -> None:
    tenant = await make_tenant(site.runtime, "Strict Paving")
    await console.precon_record(site.runtime, tenant, site.receiver.url("/strict"))
    violations = _csp_violations(page)
    answer = await page.goto(f"{site.base}/console/login")
    assert answer is not None
    policy = await answer.header_value("content-security-policy")
    assert policy is not None
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    await _sign_in(page, site, tenant)
    await expect(page.get_by_role("heading", name="Subscriptions")).to_be_visible()
    # The stylesheet and htmx (both files of the console's own) are in force.
    await expect(page.locator("header.bar")).to_have_css("background-color", "rgb(29, 36, 48)")
    assert await page.evaluate("typeof window.htmx") == "object"
    await page.get_by_role("link", name="Deliveries", exact=True).click()
    await page.get_by_label("State").select_option("failed")
    await page.get_by_role("button", name="Filter").click()  # htmx swaps the stream in place
    await expect(page).to_have_url(re.compile(r"state=failed"))
    await expect(page.get_by_text("No deliveries match.")).to_be_visible()
    await browser.shoot(page, "csp-deliveries")

    # An error page's "Go back" (console.js, not a javascript: url) returns to the form.
    await page.goto(f"{site.base}/console/deliveries?since=yesterday-ish")
    await page.goto(f"{site.base}/console/tenants")
    await expect(page.get_by_role("alert")).to_contain_text("for the operator")
    await browser.shoot(page, "csp-error-page")
    await page.get_by_role("link", name="Go back").click()
    await expect(page).to_have_url(re.compile(r"since=yesterday-ish"))
    assert violations == []

    # The check would see a violation: on another page, an inline style is refused.
    probe = await page.context.new_page()
    await probe.goto(f"{site.base}/console/subscriptions")
    refused = _csp_violations(probe)
    async with probe.expect_console_message(lambda m: "Content Security Policy" in m.text):
        await probe.evaluate("document.head.insertAdjacentHTML('beforeend', '<style></style>')")
    assert refused


async def _succeeded_to(site: Site, url: str, event_type: str) -> None:
    """Wait until a delivery of `event_type` to `url` has succeeded."""
    query = Query(callback_url=url, event_type=event_type, state=models.DeliveryState.SUCCEEDED)

    async def done() -> bool:
        return bool(await site.runtime.store.history.list(query))

    await engine.eventually(done, what=f"a succeeded {event_type} delivery to {url}")


async def test_alert_urls_beside_subscriptions_and_deliveries(site: Site, page: Page) -> None:
    tenant = await make_tenant(site.runtime, "Alerted Paving")
    failing = site.receiver.url("/alerted-failing")
    await console.precon_record(site.runtime, tenant, failing)
    own = site.receiver.url("/alerted-own")
    ops = site.receiver.url("/alerted-operator")
    await site.runtime.alerts.add(integrator(tenant.client_id, tenant.company.id), own)
    await site.runtime.alerts.add(OPERATOR, ops)
    try:
        site.receiver.answer("/alerted-failing", Behaviour(status=500, body="down for a test"))
        await _published(site, tenant)  # one try (max_attempts 1): Stopped, alerts sent
        for url in (own, ops):
            await _succeeded_to(site, url, "subscription.stopped")

        await _sign_in(page, site, tenant)
        await expect(page.get_by_role("heading", name="Subscriptions")).to_be_visible()
        await expect(page.locator("section.url").filter(has_text=failing)).to_contain_text(
            "Stopped"
        )
        listed = page.locator("#alert-urls")
        await expect(listed.get_by_role("heading", name="Alert urls")).to_be_visible()
        await expect(listed).to_contain_text(own)
        await expect(listed).not_to_contain_text(ops)
        await expect(listed).not_to_contain_text("Test event")
        await browser.shoot(page, "alert-urls-subscriptions")
        await page.get_by_role("link", name="Deliveries", exact=True).click()
        stream = page.locator("table.stream tbody tr")
        await expect(stream.filter(has_text=own)).to_have_count(2)  # stopped and exhausted
        await expect(stream.filter(has_text=failing)).to_contain_text("failed")
        await expect(stream.filter(has_text=ops)).to_have_count(0)
        await page.get_by_label("Event type").select_option("subscription.stopped")
        await page.get_by_role("button", name="Filter").click()
        await expect(stream).to_have_count(1)
        await expect(stream).to_contain_text(own)
        await browser.shoot(page, "alert-urls-deliveries")
        await _alerts_link_opens_alerts(page, site)

        await page.get_by_role("button", name="Sign out").click()
        admin = await console.operator(site.runtime)
        await _sign_in(page, site, admin)
        listed = page.locator("#alert-urls")
        await expect(listed.locator("tr").filter(has_text=own)).to_contain_text(tenant.client_id)
        await expect(listed.locator("tr").filter(has_text=ops)).to_contain_text("operator")
        await browser.shoot(page, "operator-alert-urls-subscriptions")
        await page.get_by_role("link", name="Deliveries", exact=True).click()
        await page.get_by_label("Callback url").first.fill(ops)
        await page.get_by_role("button", name="Filter").click()
        await expect(stream.filter(has_text=ops)).to_have_count(2)
        await browser.shoot(page, "operator-alert-urls-deliveries")
    finally:
        await site.runtime.alerts.remove(integrator(tenant.client_id, tenant.company.id), own)
        await site.runtime.alerts.remove(OPERATOR, ops)


async def _alerts_link_opens_alerts(page: Page, site: Site) -> None:
    """The Alert urls section's link opens the Alerts page, where they are managed."""
    await page.goto(f"{site.base}/console/subscriptions")
    await page.locator("#alert-urls").get_by_role("link", name="Alerts page").click()
    await expect(page.get_by_role("heading", name="Alert urls")).to_be_visible()
    await expect(page).to_have_url(f"{site.base}/console/alerts")
