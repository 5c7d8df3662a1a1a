"""The operator's switches: how `HOOKYARD_*` variables become the guard, and HTTPS-only."""

from __future__ import annotations

import ipaddress

import pytest

from hookyard import errors
from hookyard.config import Settings
from hookyard.delivery import http
from hookyard.delivery.netguard import Guard
from tests.support.receiver import Receiver


@pytest.mark.parametrize(
    "value",
    ['["10.1.0.0/16", "fd00:1::/32"]', "10.1.0.0/16,fd00:1::/32", " 10.1.0.0/16  fd00:1::/32 "],
)
def test_the_allow_list_variable_takes_json_or_separated_cidrs(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("HOOKYARD_ALLOWED_CALLBACK_NETWORKS", value)
    guard = Guard.from_settings(Settings())
    assert guard.allowed_networks == (
        ipaddress.ip_network("10.1.0.0/16"),
        ipaddress.ip_network("fd00:1::/32"),
    )
    assert guard.allow_private is False


def test_settings_switches_reach_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKYARD_ALLOW_PRIVATE_CALLBACKS", "true")
    monkeypatch.setenv("HOOKYARD_REQUIRE_HTTPS", "true")
    guard = Guard.from_settings(Settings())
    assert guard.allow_private is True
    assert guard.require_https is True
    assert guard.allowed_networks == ()
    assert Guard.from_settings(Settings(allow_private_callbacks=False)).warnings() == []


def test_a_malformed_network_in_the_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKYARD_ALLOWED_CALLBACK_NETWORKS", "10.1.0.0/16,10.300.0.0/16")
    with pytest.raises(errors.InvalidInput, match=r"'10\.300\.0\.0/16' is not a network"):
        Guard.from_settings(Settings())


async def test_require_https_refuses_plain_http_before_connecting(receiver: Receiver) -> None:
    guard = Guard(allow_private=True, require_https=True)
    async with http.client_session(guard) as session:
        with pytest.raises(errors.AddressNotAllowed, match=r"only calls https:// callbacks"):
            async with http.request(session, "POST", receiver.url(), data=b"{}"):
                pass
    assert receiver.requests == []


async def test_plain_http_passes_when_https_is_not_required(receiver: Receiver) -> None:
    async with (
        http.client_session(Guard(allow_private=True)) as session,
        http.request(session, "POST", receiver.url(), data=b"{}") as response,
    ):
        assert response.status == 200
    assert len(receiver.posts()) == 1
