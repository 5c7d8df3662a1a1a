"""Numeric hosts in every notation are normalised before the check; names are left to DNS.

`socket.inet_aton` (the C library's parser, the one getaddrinfo uses for numeric hosts) is the
oracle: whatever it would turn into an address, the guard turns into the same address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard import errors
from hookyard.delivery.netguard import Guard, parse_literal

LOOPBACK_FORMS = [
    "127.0.0.1",
    "2130706433",
    "017700000001",
    "0x7f000001",
    "0X7F000001",
    "0177.0.0.1",
    "0177.0000.0000.0001",
    "0x7f.0.0.1",
    "0x7f.0x0.0x0.0x1",
    "127.1",
    "127.0.1",
    "0x7f.1",
    "0177.1",
    "0x7f.0.1",
    "127.0x0.01",
    "0x7f.0.0.1.",
    "127.0.0.1.",
]


@pytest.mark.parametrize("form", LOOPBACK_FORMS)
def test_every_notation_of_loopback_means_127_0_0_1(form: str) -> None:
    assert parse_literal(form) == ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize("form", LOOPBACK_FORMS)
async def test_every_notation_of_loopback_is_refused_without_dns(form: str) -> None:
    lookups: list[str] = []
    with pytest.raises(errors.AddressNotAllowed, match="is a loopback address"):
        await Guard(lookup=_recording(lookups, ["8.8.8.8"])).resolve(form, 80)
    assert lookups == []


@pytest.mark.parametrize(
    ("form", "address"),
    [
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("[64:ff9b::10.0.0.5]", "64:ff9b::a00:5"),
        ("167772165", "10.0.0.5"),
        ("10.5", "10.0.0.5"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("0xa9fea9fe", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("0", "0.0.0.0"),
    ],
)
def test_other_numeric_forms(form: str, address: str) -> None:
    assert parse_literal(form) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "name", ["example.com", "hooks.example.com.", "xn--bcher-kva.example", "a_b.c"]
)
def test_names_are_not_literals(name: str) -> None:
    assert parse_literal(name) is None


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("08.0.0.1", "is not a valid IPv4 address"),
        ("0x.0.0.1.2", "is not a valid IPv4 address"),
        ("1.2.3.4.5", "is not a valid IPv4 address"),
        ("256.1.1.1", "is not a valid IPv4 address"),
        ("1.2.65536", "is not a valid IPv4 address"),
        ("4294967296", "is not a valid IPv4 address"),
        ("127..1", "is not a valid host name"),
        ("[::1%25lo]", "zone identifier"),
        ("fe80::1%eth0", "zone identifier"),
        ("::ffff:0177.0.0.1", "is not a valid IPv6 address"),
        ("%31%32%37.0.0.1", "is not a valid host name"),
        ("-bad.example", "is not a valid host name"),
        ("a..b", "is not a valid host name"),
        ("x" * 64 + ".example", "is not a valid host name"),
    ],
)
def test_malformed_hosts_are_refused_with_a_reason(host: str, message: str) -> None:
    with pytest.raises(errors.AddressNotAllowed, match=message):
        parse_literal(host)


def _part(value: int, base: str) -> str:
    if base == "hex":
        return hex(value)
    if base == "oct":
        return "0" + format(value, "o")
    return str(value)


@st.composite
def numeric_forms(draw: st.DrawFn) -> tuple[str, int]:
    value = draw(st.integers(0, 2**32 - 1))
    parts = draw(st.integers(1, 4))
    octets = value.to_bytes(4, "big")
    head = list(octets[: parts - 1])
    last = int.from_bytes(octets[parts - 1 :], "big")
    bases = draw(st.lists(st.sampled_from(["dec", "oct", "hex"]), min_size=parts, max_size=parts))
    text = ".".join(_part(v, b) for v, b in zip([*head, last], bases, strict=True))
    return text, value


@given(form=numeric_forms())
def test_parsing_agrees_with_the_c_library(form: tuple[str, int]) -> None:
    text, value = form
    assert parse_literal(text) == ipaddress.IPv4Address(value)
    assert socket.inet_aton(text) == value.to_bytes(4, "big")


@given(text=st.text(alphabet="0123456789xXabcdefABCDEF.", min_size=1, max_size=24))
def test_whatever_the_c_library_accepts_is_normalised_the_same(text: str) -> None:
    try:
        expected: ipaddress.IPv4Address | None = ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        expected = None
    try:
        parsed = parse_literal(text)
    except errors.AddressNotAllowed:
        parsed = None
    if expected is not None:
        assert parsed == expected


def _recording(
    seen: list[str], answers: Sequence[str]
) -> Callable[[str, int], Awaitable[Sequence[str]]]:
    async def lookup(host: str, port: int) -> Sequence[str]:
        seen.append(host)
        return answers

    return lookup


async def test_a_name_is_looked_up_once_and_every_answer_checked() -> None:
    seen: list[str] = []
    guard = Guard(lookup=_recording(seen, ["93.184.216.34", "10.0.0.5"]))
    with pytest.raises(errors.AddressNotAllowed) as caught:
        await guard.resolve("mixed.example", 443)
    assert caught.value.detail == (
        "address not allowed: mixed.example resolves to 10.0.0.5, which is a private address; "
        "callbacks must reach a public address"
    )
    assert seen == ["mixed.example"]


async def test_public_answers_come_back_deduplicated_in_order() -> None:
    seen: list[str] = []
    guard = Guard(lookup=_recording(seen, ["93.184.216.34", "2606:2800:220:1::", "93.184.216.34"]))
    addresses = await guard.resolve("public.example.", 443)
    assert [str(a) for a in addresses] == ["93.184.216.34", "2606:2800:220:1::"]
    assert seen == ["public.example"]


async def test_an_empty_answer_is_refused() -> None:
    with pytest.raises(errors.AddressNotAllowed, match=r"empty\.example has no address"):
        await Guard(lookup=_recording([], [])).resolve("empty.example", 443)


async def test_an_answer_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(errors.AddressNotAllowed, match="which is not an address"):
        await Guard(lookup=_recording([], ["not-an-ip"])).resolve("odd.example", 443)


async def test_an_odd_notation_is_shown_with_the_address_it_means() -> None:
    with pytest.raises(errors.AddressNotAllowed) as caught:
        await Guard().resolve("0xa9fea9fe", 80)
    assert "0xa9fea9fe (169.254.169.254) is the cloud metadata address" in caught.value.detail
