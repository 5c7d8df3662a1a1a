"""The address classifier: every address that is not globally routable is refused, with a reason.

Pure: nothing here opens a socket (the tripwire in conftest.py would fail the test if it did).
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard import errors
from hookyard.delivery import netguard
from hookyard.delivery.netguard import Guard

REFUSED = [
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("10.0.0.5", "a private address"),
    ("172.16.0.1", "a private address"),
    ("172.31.255.255", "a private address"),
    ("192.168.1.1", "a private address"),
    ("127.0.0.1", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("169.254.169.254", "the cloud metadata address"),
    ("169.254.1.1", "a link-local address"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.255", "carrier-grade NAT"),
    ("192.0.0.8", "IETF protocol assignment"),
    ("192.0.2.1", "a documentation address"),
    ("198.51.100.7", "a documentation address"),
    ("203.0.113.9", "a documentation address"),
    ("198.18.0.1", "a benchmarking address"),
    ("198.19.255.255", "a benchmarking address"),
    ("192.88.99.1", "6to4 relay anycast"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "the broadcast address"),
    ("::", "the unspecified address"),
    ("::1", "a loopback address"),
    ("::ffff:127.0.0.1", "IPv4-mapped IPv6 address (of 127.0.0.1)"),
    ("::ffff:10.0.0.5", "IPv4-mapped IPv6 address (of 10.0.0.5)"),
    ("::ffff:8.8.8.8", "IPv4-mapped IPv6 address (of 8.8.8.8)"),
    ("::127.0.0.1", "IPv4-compatible IPv6 address (of 127.0.0.1)"),
    ("::10.0.0.5", "IPv4-compatible IPv6 address (of 10.0.0.5)"),
    ("fc00::1", "a unique-local address"),
    ("fd12:3456:789a::1", "a unique-local address"),
    ("fe80::1", "a link-local address"),
    ("febf::1", "a link-local address"),
    ("fec0::1", "a site-local address"),
    ("ff02::1", "a multicast address"),
    ("ff05::1:3", "a multicast address"),
    ("2001:db8::1", "a documentation address"),
    ("3fff::1", "a documentation address"),
    ("2001:2::1", "a benchmarking address"),
    ("100::1", "a discard-only address"),
    ("5f00::1", "an SRv6 segment identifier"),
    ("2002:a00:1::1", "a 6to4 address embedding 10.0.0.1, a private address"),
    ("2002:7f00:1::", "a 6to4 address embedding 127.0.0.1, a loopback address"),
    ("2002:a9fe:a9fe::1", "a 6to4 address embedding 169.254.169.254, the cloud metadata"),
    ("64:ff9b::a00:5", "a NAT64 address embedding 10.0.0.5, a private address"),
    ("64:ff9b::127.0.0.1", "a NAT64 address embedding 127.0.0.1, a loopback address"),
    ("64:ff9b::169.254.169.254", "embedding 169.254.169.254, the cloud metadata address"),
    ("64:ff9b:1::a00:5", "a local-use NAT64 address"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a Teredo address (server 65.54.227.120"),
    ("2001::1", "a Teredo address"),
    ("4000::1", "outside the IPv6 global unicast range"),
    ("2001:10::1", "not a globally routable address"),
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.254",
    "2606:4700:4700::1111",
    "2a00:1450:4001::200e",
    "2002:808:808::1",
    "64:ff9b::8.8.8.8",
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_refused_addresses_name_their_class(text: str, reason: str) -> None:
    address = ipaddress.ip_address(text)
    refusal = Guard().refusal(address)
    assert refusal is not None
    assert reason in refusal
    with pytest.raises(errors.AddressNotAllowed, match=r"^address not allowed: ") as caught:
        Guard().check(address)
    assert f"{address} is {refusal}" in caught.value.detail
    assert "callbacks must reach a public address" in caught.value.detail


@pytest.mark.parametrize("text", ALLOWED)
def test_globally_routable_addresses_pass(text: str) -> None:
    address = ipaddress.ip_address(text)
    assert Guard().refusal(address) is None
    assert Guard().check(address) == address


def _addresses_in(network: netguard.Network) -> st.SearchStrategy[netguard.IPAddress]:
    first, last = int(network.network_address), int(network.broadcast_address)
    return st.integers(first, last).map(type(network.network_address))


REFUSED_NETWORKS = [network for network, _ in netguard.REFUSED_IPV4 + netguard.REFUSED_IPV6]
EMBEDDED_PRIVATE = ["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "192.168.0.0/16", "0.0.0.0/8"]


@pytest.mark.parametrize("network", REFUSED_NETWORKS, ids=str)
@given(data=st.data())
def test_every_address_in_a_refused_network_is_refused(
    network: netguard.Network, data: st.DataObject
) -> None:
    address = data.draw(_addresses_in(network))
    assert Guard().refusal(address) is not None
    with pytest.raises(errors.AddressNotAllowed):
        Guard().check(address)


@pytest.mark.parametrize("cidr", EMBEDDED_PRIVATE)
@given(data=st.data(), low=st.integers(0, 2**80 - 1))
def test_6to4_and_nat64_embedding_a_refused_ipv4_are_refused(
    cidr: str, data: st.DataObject, low: int
) -> None:
    inner = int(data.draw(_addresses_in(ipaddress.ip_network(cidr))))
    six_to_four = ipaddress.IPv6Address(0x2002 << 112 | inner << 80 | low)
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | inner)
    assert "a 6to4 address embedding" in (Guard().refusal(six_to_four) or "")
    assert "a NAT64 address embedding" in (Guard().refusal(nat64) or "")


ANY_ADDRESS = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address) | st.integers(0, 2**128 - 1).map(
    ipaddress.IPv6Address
)


@given(address=ANY_ADDRESS)
def test_what_python_calls_non_global_is_refused(address: netguard.IPAddress) -> None:
    if not address.is_global:
        assert Guard().refusal(address) is not None


@given(value=st.integers(0, 2**128 - 1))
def test_passing_ipv6_is_global_unicast(value: int) -> None:
    address = ipaddress.IPv6Address(value)
    if Guard().refusal(address) is None:
        assert address in ipaddress.ip_network("2000::/3")
        assert address.is_global


@given(address=ANY_ADDRESS)
def test_allow_private_lets_everything_through(address: netguard.IPAddress) -> None:
    assert Guard(allow_private=True).refusal(address) is None


@given(data=st.data())
def test_the_allow_list_opens_exactly_its_networks(data: st.DataObject) -> None:
    guard = Guard.build(False, ["10.1.0.0/16", "fd00:1::/32"])
    inside = data.draw(_addresses_in(ipaddress.ip_network("10.1.0.0/16")))
    inside6 = data.draw(_addresses_in(ipaddress.ip_network("fd00:1::/32")))
    outside = data.draw(_addresses_in(ipaddress.ip_network("10.2.0.0/16")))
    assert guard.refusal(inside) is None
    assert guard.refusal(inside6) is None
    assert guard.refusal(outside) == "a private address"


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "not-a-network", "", "10.0.0.0/8/8", "::1/129"])
def test_a_malformed_allow_list_entry_is_a_clear_error(bad: str) -> None:
    with pytest.raises(errors.InvalidInput, match="HOOKYARD_ALLOWED_CALLBACK_NETWORKS") as caught:
        Guard.build(False, ["10.0.0.0/8", bad])
    assert repr(bad) in caught.value.detail


def test_warnings_name_each_bypass_that_is_on() -> None:
    assert Guard().warnings() == []
    relaxed = Guard.build(True, ["10.1.0.0/16"])
    joined = "\n".join(relaxed.warnings())
    assert "HOOKYARD_ALLOW_PRIVATE_CALLBACKS" in joined
    assert "HOOKYARD_ALLOWED_CALLBACK_NETWORKS lets callbacks reach 10.1.0.0/16" in joined
