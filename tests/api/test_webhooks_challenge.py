"""Challenge failures: each answered 400 with a detail saying what happened, and nothing stored."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from hookyard.cli import runtime as runtimes
from hookyard.config import Settings
from tests.support.receiver import Behaviour, Receiver
from tests.support.webhooks import app_with, caller, records

EVENT_TYPES = ["EmployeeCreated"]


async def _refused(api: httpx.AsyncClient, runtime: runtimes.Runtime, url: str, words: str) -> str:
    me = await caller(api, runtime)
    for method in ("POST", "PUT"):
        response = await api.request(
            method,
            me.path("setups"),
            json={"url": url, "eventTypes": EVENT_TYPES},
            headers=me.headers,
        )
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["title"] == "Challenge verification failed"
        assert words in body["detail"]
        assert "nothing was stored" in body["detail"]
        assert any(words in message for message in body["errors"]["url"])
    assert await records(runtime, me.client_id) == []
    detail: str = body["detail"]
    return detail


@pytest.mark.parametrize(
    ("behaviour", "words"),
    [
        (Behaviour(status=404), "status 404"),
        (Behaviour(status=500, body="oops"), "status 500"),
        (Behaviour(status=200, body="something else"), "body did not match"),
        (Behaviour(status=200, body=""), "body did not match"),
        (Behaviour(status=204, body=""), "status 204"),
        (Behaviour(status=302, headers={"Location": "http://127.0.0.1:9/elsewhere"}), "redirect"),
    ],
)
async def test_a_callback_that_does_not_echo_the_challenge_is_refused(
    api: httpx.AsyncClient,
    runtime: runtimes.Runtime,
    receiver: Receiver,
    behaviour: Behaviour,
    words: str,
) -> None:
    receiver.answer("/hook", behaviour)
    await _refused(api, runtime, receiver.url("/hook"), words)
    assert len(receiver.received("GET", "/hook")) == 2
    assert receiver.received(path="/elsewhere") == []


async def test_a_redirect_is_not_followed_even_to_a_good_callback(
    api: httpx.AsyncClient, runtime: runtimes.Runtime, receiver: Receiver
) -> None:
    receiver.answer("/hook", Behaviour(status=307, headers={"Location": receiver.url("/good")}))
    detail = await _refused(api, runtime, receiver.url("/hook"), "status 307")
    assert "redirects are not followed" in detail
    assert receiver.received(path="/good") == []


async def test_a_callback_that_never_answers_times_out(
    settings: Settings, receiver: Receiver
) -> None:
    receiver.answer("/slow", Behaviour(blackhole=True))
    async with app_with(settings, challenge_timeout_seconds=0.3) as (api, wired):
        await _refused(api, wired, receiver.url("/slow"), "timed out")


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that is bound but not listening, so connecting is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()


async def test_a_closed_port_is_connection_refused(
    api: httpx.AsyncClient, runtime: runtimes.Runtime, closed_port: int
) -> None:
    await _refused(api, runtime, f"http://127.0.0.1:{closed_port}/hook", "connection refused")


async def test_a_private_address_is_not_allowed_unless_the_operator_allows_it(
    settings: Settings, receiver: Receiver
) -> None:
    async with app_with(settings, allow_private_callbacks=False) as (api, wired):
        detail = await _refused(api, wired, receiver.url("/hook"), "address not allowed")
        assert "127.0.0.1" in detail
    assert receiver.requests == []
