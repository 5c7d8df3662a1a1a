"""Callback hosts that need the operator's approval: decided on the url's host before any DNS
lookup or challenge, recorded once per client and host, approved or rejected by the operator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hookyard import models
from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from hookyard.services.access import Actor
from hookyard.services.approvals import host_of, matches
from tests.support.actors import OPERATOR
from tests.support.receiver import Receiver
from tests.support.webhooks import Caller, app_with, caller, records

TYPES = ["EmployeeCreated"]
CONTACT = "ops@paving.example"


@pytest.fixture
async def gated(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """The app with callbacks on 127.0.0.1 (the test receiver's host) needing approval."""
    async with app_with(settings, approval_hosts=["127.0.0.1"], approval_contact=CONTACT) as both:
        yield both


async def _post(
    api: httpx.AsyncClient, me: Caller, url: str, method: str = "POST"
) -> httpx.Response:
    return await api.request(
        method, me.path("setups"), json={"url": url, "eventTypes": TYPES}, headers=me.headers
    )


def _refused(response: httpx.Response, *words: str) -> str:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Callback host approval required"
    for word in words:
        assert word in body["detail"], body["detail"]
    detail: str = body["detail"]
    return detail


# Bad input first.


@pytest.mark.parametrize("patterns", ["https://*.azurewebsites.net", "*.azure_websites.net", "a/b"])
def test_a_pattern_that_is_not_a_host_is_refused(patterns: str) -> None:
    with pytest.raises(ValidationError, match="is not a host pattern"):
        Settings(approval_hosts=patterns)


async def test_an_unknown_request_or_status_is_refused(runtime: Runtime) -> None:
    from hookyard import errors

    with pytest.raises(errors.NotFound, match="hookyard approvals list"):
        await runtime.approvals.approve(Actor.shell("ops"), "apr_nope")
    with pytest.raises(errors.InvalidInput, match="status: must be all, pending"):
        await runtime.approvals.listed(OPERATOR, "maybe")
    with pytest.raises(errors.InvalidInput, match="by: name who decides"):
        await runtime.approvals.approve(Actor.shell(" "), "apr_nope")


# The rule.


def test_patterns_take_comma_or_space_separated_hosts() -> None:
    settings = Settings(approval_hosts="*.AzureWebsites.net, hooks.example.com")
    assert settings.approval_hosts == ["*.azurewebsites.net", "hooks.example.com"]


@given(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True))
def test_every_azure_site_matches_and_no_lookalike_does(name: str) -> None:
    patterns = ["*.azurewebsites.net"]
    for url in (
        f"https://{name}.azurewebsites.net/hook",
        f"https://{name.upper()}.AzureWebsites.NET./hook",
        f"https://{name}.scm.azurewebsites.net:8443/x?y=1",
    ):
        assert matches(host_of(url), patterns), url
    for url in (
        f"https://{name}.azurewebsites.net.evil.example/hook",
        f"https://{name}azurewebsites.net/hook",
        "https://azurewebsites.net/hook",
    ):
        assert not matches(host_of(url), patterns), url


async def test_a_host_needing_approval_answers_403_and_records_one_request(
    gated: tuple[httpx.AsyncClient, Runtime], receiver: Receiver
) -> None:
    api, wired = gated
    me = await caller(api, wired)
    for method in ("POST", "PUT", "POST"):
        detail = _refused(await _post(api, me, receiver.url("/hook"), method), "pending", CONTACT)
        assert "Nothing was stored" in detail
    (request,) = await wired.approvals.listed(OPERATOR, "pending")
    assert request.id in detail
    assert (request.client_id, request.host, request.product) == (
        me.client_id,
        "127.0.0.1",
        "setups",
    )
    assert request.callback_url == receiver.url("/hook")
    assert request.last_requested_at >= request.requested_at
    assert receiver.received() == []  # no challenge, not even a connection
    assert await records(wired, me.client_id) == []


async def test_once_approved_the_next_post_runs_the_challenge(
    gated: tuple[httpx.AsyncClient, Runtime], receiver: Receiver
) -> None:
    api, wired = gated
    me = await caller(api, wired)
    _refused(await _post(api, me, receiver.url("/hook")), "pending")
    (request,) = await wired.approvals.listed(OPERATOR, "pending")
    approved = await wired.approvals.approve(
        Actor.shell("ops"), request.id, reason="their Azure app"
    )
    assert (approved.status, approved.decided_by) == (models.ApprovalStatus.APPROVED, "ops")
    response = await _post(api, me, receiver.url("/other-path"))
    assert response.status_code == 200, response.text
    assert len(receiver.received("GET", "/other-path")) == 1
    assert [r.status for r in await records(wired, me.client_id)] == [
        models.SubscriptionStatus.ACTIVE
    ]
    assert await wired.approvals.listed(OPERATOR, "pending") == []


async def test_a_rejected_host_stays_refused_with_the_reason(
    gated: tuple[httpx.AsyncClient, Runtime], receiver: Receiver
) -> None:
    api, wired = gated
    me = await caller(api, wired)
    _refused(await _post(api, me, receiver.url("/hook")), "pending")
    (request,) = await wired.approvals.listed(OPERATOR, "pending")
    await wired.approvals.reject(Actor.shell("ops"), request.id, reason="not a customer app")
    _refused(await _post(api, me, receiver.url("/hook")), "not approved", "not a customer app")
    assert receiver.received() == []
    (listed,) = await wired.approvals.listed(OPERATOR, "rejected")
    assert listed.id == request.id


async def test_an_approval_is_the_clients_own(
    gated: tuple[httpx.AsyncClient, Runtime], receiver: Receiver
) -> None:
    api, wired = gated
    mine, theirs = await caller(api, wired, "Mine"), await caller(api, wired, "Theirs")
    _refused(await _post(api, mine, receiver.url("/hook")), "pending")
    (request,) = await wired.approvals.listed(OPERATOR, "pending")
    await wired.approvals.approve(Actor.shell("ops"), request.id)
    _refused(await _post(api, theirs, receiver.url("/hook")), "pending")
    assert receiver.received() == []


async def test_hosts_not_matching_need_no_approval(settings: Settings, receiver: Receiver) -> None:
    async with app_with(settings, approval_hosts=["*.azurewebsites.net"]) as (api, wired):
        me = await caller(api, wired)
        assert (await _post(api, me, receiver.url("/hook"))).status_code == 200
        assert await wired.approvals.listed(OPERATOR, "all") == []
