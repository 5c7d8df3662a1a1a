"""One try against a real receiver: every way a callback can fail is a failure with a reason."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from hookyard import models, signing
from hookyard.delivery import http, netguard
from hookyard.delivery.sender import BODY_LIMIT, Request, Sender
from tests.support.receiver import Behaviour, Receiver

SECRET = signing.generate_secret()


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    async with http.client_session(netguard.Guard.build(allow_private=True)) as session:
        yield Sender(session, timeout=0.5)


def _request(url: str) -> Request:
    return Request("dlv_test", url, b'{"a":1}', (SECRET,))


async def test_a_2xx_is_a_success_and_the_request_is_signed(
    sender: Sender, receiver: Receiver
) -> None:
    receiver.answer("/hook", Behaviour(status=204))
    result = await sender.send(_request(receiver.url()))
    assert result.outcome is models.Outcome.SUCCESS
    assert result.status_code == 204
    (got,) = receiver.posts()
    assert got.body == b'{"a":1}'
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"].startswith("Hookyard/")
    assert got.headers["webhook-id"] == "dlv_test"
    expected = signing.sign(SECRET, "dlv_test", int(got.headers["webhook-timestamp"]), got.body)
    assert got.headers["webhook-signature"] == expected
    assert "webhook-sequence" not in got.headers


async def test_a_numbered_delivery_carries_its_sequence(sender: Sender, receiver: Receiver) -> None:
    request = Request("dlv_test", receiver.url(), b"{}", (SECRET,), sequence=42)
    await sender.send(request)
    (got,) = receiver.posts()
    assert got.headers["webhook-sequence"] == "42"


@pytest.mark.parametrize("status", [500, 404, 429, 400])
async def test_a_non_2xx_is_a_failure(sender: Sender, receiver: Receiver, status: int) -> None:
    receiver.answer("/hook", Behaviour(status=status, body="nope", headers={"Retry-After": "7"}))
    result = await sender.send(_request(receiver.url()))
    assert result.outcome is models.Outcome.HTTP_ERROR
    assert (result.status_code, result.response_body) == (status, "nope")
    assert result.error == f"answered HTTP {status}"
    assert result.retry_after == "7"


async def test_a_redirect_is_a_failure_and_not_followed(sender: Sender, receiver: Receiver) -> None:
    receiver.answer("/hook", Behaviour(status=302, headers={"Location": "/elsewhere"}))
    result = await sender.send(_request(receiver.url()))
    assert result.outcome is models.Outcome.HTTP_ERROR
    assert result.status_code == 302
    assert result.error == "redirect to /elsewhere not followed"
    assert receiver.received(path="/elsewhere") == []


async def test_a_callback_that_never_answers_times_out(sender: Sender, receiver: Receiver) -> None:
    receiver.answer("/hook", Behaviour(blackhole=True))
    result = await sender.send(_request(receiver.url()))
    assert result.outcome is models.Outcome.TIMEOUT
    assert result.error == "timed out after 0.5 s"


async def test_a_refused_connection_is_a_failure(sender: Sender) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await sender.send(_request(f"http://127.0.0.1:{port}/hook"))
    assert result.outcome is models.Outcome.CONNECTION_ERROR
    assert result.error is not None
    assert "refused" in result.error.lower()


async def test_a_reset_mid_response_is_a_failure(sender: Sender, receiver: Receiver) -> None:
    receiver.answer("/hook", Behaviour(reset=True))
    result = await sender.send(_request(receiver.url()))
    assert result.outcome is models.Outcome.CONNECTION_ERROR
    assert result.status_code is None


async def test_only_the_first_4_kib_of_the_body_are_kept(
    sender: Sender, receiver: Receiver
) -> None:
    receiver.answer("/hook", Behaviour(status=500, body="x" * 100_000))
    result = await sender.send(_request(receiver.url()))
    assert result.response_body == "x" * BODY_LIMIT


async def test_an_address_the_guard_refuses_is_a_failure(receiver: Receiver) -> None:
    async with http.client_session(netguard.Guard.build(allow_private=False)) as session:
        url = f"http://localhost:{receiver.port}/hook"
        result = await Sender(session, timeout=0.5).send(_request(url))
    assert result.outcome is models.Outcome.ADDRESS_NOT_ALLOWED
    assert result.error is not None
    assert "loopback" in result.error
    assert receiver.posts() == []
