"""The guarded aiohttp session against a real receiver on 127.0.0.1 (loopback only, no namespace).

Loopback is refused by default, so each refusal here is also proven by the receiver having seen
nothing; the operator's allow-list opens exactly 127.0.0.1 for the tests that need an answer.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any

import aiohttp
import pytest
from yarl import URL

from hookyard import errors
from hookyard.delivery import http
from hookyard.delivery.netguard import Guard
from tests.support.receiver import Behaviour, Receiver

LOOPBACK_HOSTS = [
    "127.0.0.1",
    "localhost",
    "2130706433",
    "017700000001",
    "0x7f000001",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "127.1",
    "0x7f.1",
    "127.0.0.1.",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[0:0:0:0:0:0:0:1]",
]

OPEN_LOOPBACK = Guard.build(False, ["127.0.0.1/32"])


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
async def test_loopback_in_any_notation_is_refused_and_nothing_arrives(
    receiver: Receiver, host: str
) -> None:
    async with http.client_session(Guard()) as session:
        with pytest.raises(errors.AddressNotAllowed, match=r"loopback address|of 127\.0\.0\.1"):
            async with http.request(session, "POST", f"http://{host}:{receiver.port}/hook"):
                pass
    assert receiver.requests == []


async def test_the_allow_list_lets_exactly_its_network_through(receiver: Receiver) -> None:
    async with http.client_session(OPEN_LOOPBACK) as session:
        async with http.request(session, "POST", receiver.url(), data=b"{}") as response:
            assert response.status == 200
        with pytest.raises(errors.AddressNotAllowed, match=r"::1 is a loopback address"):
            async with http.request(session, "POST", f"http://[::1]:{receiver.port}/hook"):
                pass
    assert [r.path for r in receiver.posts()] == ["/hook"]
    assert receiver.posts()[0].headers["User-Agent"].startswith("Hookyard/")


async def test_allow_private_lets_loopback_through(receiver: Receiver) -> None:
    async with (
        http.client_session(Guard(allow_private=True)) as session,
        http.request(session, "GET", receiver.url("/dev")) as response,
    ):
        assert response.status == 200
    assert len(receiver.received("GET", "/dev")) == 1


async def test_a_name_is_resolved_once_per_connection_and_pinned(receiver: Receiver) -> None:
    answers = iter([["127.0.0.1"], ["::1"]])
    looked_up: list[str] = []

    async def flipping(host: str, port: int) -> Sequence[str]:
        looked_up.append(host)
        return next(answers)

    guard = Guard.build(False, ["127.0.0.1/32"], lookup=flipping)
    async with (
        http.client_session(guard) as session,
        http.request(session, "GET", f"http://callback.test:{receiver.port}/pinned") as response,
    ):
        assert response.status == 200
    assert looked_up == ["callback.test"]
    assert (
        receiver.received("GET", "/pinned")[0].headers["Host"] == f"callback.test:{receiver.port}"
    )


async def test_a_redirect_is_returned_not_followed(receiver: Receiver) -> None:
    receiver.answer("/moved", Behaviour(status=302, headers={"Location": receiver.url("/next")}))
    async with http.client_session(OPEN_LOOPBACK) as session:
        async with http.request(session, "POST", receiver.url("/moved"), data=b"{}") as response:
            assert response.status == 302
        with pytest.raises(errors.AddressNotAllowed, match="redirects are never followed"):
            async with session.get(receiver.url("/moved")):
                pass
    assert [r.path for r in receiver.requests] == ["/moved", "/moved"]


async def test_a_proxy_is_refused_before_anything_is_sent(receiver: Receiver) -> None:
    async with http.client_session(OPEN_LOOPBACK) as session:
        with pytest.raises(errors.AddressNotAllowed, match="outbound proxies are not supported"):
            async with session.get("http://callback.test/hook", proxy=receiver.url("/")):
                pass
        with pytest.raises(TypeError, match="does not accept a proxy"):
            http.request(session, "GET", receiver.url(), proxy=receiver.url("/"))
    assert receiver.requests == []


async def test_the_session_refuses_settings_that_could_bypass_the_guard() -> None:
    for name in ("connector", "proxy", "trust_env", "trace_configs"):
        bypass: dict[str, Any] = {name: None}
        with pytest.raises(TypeError, match=f"does not accept {name}"):
            http.client_session(Guard(), **bypass)


async def test_request_refuses_to_follow_redirects(receiver: Receiver) -> None:
    async with http.client_session(OPEN_LOOPBACK) as session:
        with pytest.raises(TypeError, match="never follows redirects"):
            http.request(session, "GET", receiver.url(), allow_redirects=True)
    assert receiver.requests == []


async def test_the_connector_checks_again_just_before_the_socket_connects(
    receiver: Receiver,
) -> None:
    connector = http.GuardedConnector(Guard())
    try:
        info = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", 1))
        request = aiohttp.ClientRequest("GET", URL("http://127.0.0.1:1/hook"))
        with pytest.raises(errors.AddressNotAllowed, match=r"127\.0\.0\.1 is a loopback address"):
            await connector._wrap_create_connection(
                addr_infos=[info], req=request, timeout=aiohttp.ClientTimeout(total=5)
            )
    finally:
        await connector.close()
    assert ipaddress.ip_address(info[4][0]).is_loopback
