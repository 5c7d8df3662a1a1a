"""Which outbound addresses Hookyard may reach: the SSRF guard for challenges and deliveries.

A host is turned into addresses exactly once: a numeric host in any notation the C library accepts
(decimal `2130706433`, octal `0177.0.0.1`, hex `0x7f.0.0.1`, short `127.1`, mixed) is normalised
here, and a name is resolved through `Guard.lookup`. Every address is then classified, and only
checked addresses are handed to the connection (`hookyard.delivery.http` pins them), so a DNS
answer that changes between the check and the connect cannot redirect the request.

An address passes when it is globally routable, or when the operator allowed it: a network in
`HOOKYARD_ALLOWED_CALLBACK_NETWORKS`, or everything with `HOOKYARD_ALLOW_PRIVATE_CALLBACKS`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from hookyard import errors
from hookyard.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Lookup = Callable[[str, int], Awaitable[Sequence[str]]]

_net = ipaddress.ip_network

# First match wins: the narrow entries come before the networks that contain them.
REFUSED_IPV4: tuple[tuple[Network, str], ...] = (
    (_net("0.0.0.0/8"), "an unspecified ('this network') address"),
    (_net("10.0.0.0/8"), "a private address"),
    (_net("100.64.0.0/10"), "a carrier-grade NAT (shared) address"),
    (_net("127.0.0.0/8"), "a loopback address"),
    (_net("169.254.169.254/32"), "the cloud metadata address"),
    (_net("169.254.0.0/16"), "a link-local address"),
    (_net("172.16.0.0/12"), "a private address"),
    (_net("192.0.0.0/24"), "an IETF protocol assignment address"),
    (_net("192.0.2.0/24"), "a documentation address"),
    (_net("192.88.99.0/24"), "a 6to4 relay anycast address"),
    (_net("192.168.0.0/16"), "a private address"),
    (_net("198.18.0.0/15"), "a benchmarking address"),
    (_net("198.51.100.0/24"), "a documentation address"),
    (_net("203.0.113.0/24"), "a documentation address"),
    (_net("224.0.0.0/4"), "a multicast address"),
    (_net("255.255.255.255/32"), "the broadcast address"),
    (_net("240.0.0.0/4"), "a reserved address"),
)

REFUSED_IPV6: tuple[tuple[Network, str], ...] = (
    (_net("::/128"), "the unspecified address"),
    (_net("::1/128"), "a loopback address"),
    (_net("::ffff:0:0/96"), "an IPv4-mapped IPv6 address"),
    (_net("::/96"), "an IPv4-compatible IPv6 address"),
    (_net("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_net("100::/64"), "a discard-only address"),
    (_net("2001::/32"), "a Teredo address"),
    (_net("2001:2::/48"), "a benchmarking address"),
    (_net("2001:db8::/32"), "a documentation address"),
    (_net("3fff::/20"), "a documentation address"),
    (_net("5f00::/16"), "an SRv6 segment identifier"),
    (_net("fc00::/7"), "a unique-local address"),
    (_net("fe80::/10"), "a link-local address"),
    (_net("fec0::/10"), "a site-local address"),
    (_net("ff00::/8"), "a multicast address"),
)

IPV4_IN_IPV6 = _net("::/80")  # the IPv4-compatible ::/96 and IPv4-mapped ::ffff:0:0/96 forms
NAT64 = _net("64:ff9b::/96")
SIX_TO_FOUR = _net("2002::/16")
GLOBAL_UNICAST = _net("2000::/3")

_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def classify(address: IPAddress) -> str | None:
    """Why `address` is not globally routable ("a private address"), or None when it is."""
    table = REFUSED_IPV4 if address.version == 4 else REFUSED_IPV6
    for network, reason in table:
        if address in network:
            return _with_embedded(address, reason)
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return _embedding_refusal(address, embedded)
        if address not in GLOBAL_UNICAST:
            return "outside the IPv6 global unicast range 2000::/3"
    if not address.is_global:
        return "not a globally routable address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _embedding_refusal(
    address: ipaddress.IPv6Address, embedded: ipaddress.IPv4Address
) -> str | None:
    inner = classify(embedded)
    if inner is None:
        return None
    kind = "a NAT64" if address in NAT64 else "a 6to4"
    return f"{kind} address embedding {embedded}, {inner}"


def _with_embedded(address: IPAddress, reason: str) -> str:
    if not isinstance(address, ipaddress.IPv6Address) or int(address) <= 1:
        return reason
    if address.teredo is not None:
        return f"{reason} (server {address.teredo[0]}, client {address.teredo[1]})"
    if address in IPV4_IN_IPV6:
        return f"{reason} (of {ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)})"
    return reason


def parse_literal(host: str) -> IPAddress | None:
    """The address a numeric host names, in any notation; None when `host` is a name.

    Raises AddressNotAllowed for a host that is neither a valid address nor a valid name.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in bare:
        return _parse_ipv6(bare)
    labels = (bare[:-1] if bare.endswith(".") else bare).split(".")
    if all(_NUMBER.fullmatch(label) for label in labels):
        return _parse_ipv4(labels, host)
    if len(bare) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _not_allowed(f"{host!r} is not a valid host name")
    return None


def _parse_ipv6(text: str) -> ipaddress.IPv6Address:
    if "%" in text:
        raise _not_allowed(f"{text} has an IPv6 zone identifier, which callbacks may not use")
    try:
        return ipaddress.IPv6Address(text)
    except ValueError as exc:
        raise _not_allowed(f"{text!r} is not a valid IPv6 address") from exc


def _parse_ipv4(labels: list[str], host: str) -> ipaddress.IPv4Address:
    """inet_aton(3): up to four parts, each decimal, 0-octal or 0x-hex; the last fills the rest."""
    try:
        values = [_number(label) for label in labels]
    except ValueError as exc:
        raise _not_allowed(f"{host!r} is not a valid IPv4 address") from exc
    *head, last = values
    if len(values) > 4 or any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        raise _not_allowed(f"{host!r} is not a valid IPv4 address")
    value = 0
    for part in head:
        value = value << 8 | part
    return ipaddress.IPv4Address(value << (8 * (5 - len(values))) | last)


def _number(label: str) -> int:
    if label[:2].lower() == "0x":
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8)
    return int(label, 10)


def _not_allowed(reason: str) -> errors.AddressNotAllowed:
    return errors.AddressNotAllowed(
        f"address not allowed: {reason}; callbacks must reach a public address"
    )


async def system_lookup(host: str, port: int) -> list[str]:
    """The addresses the operating system's resolver gives for `host`."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise errors.AddressNotAllowed(
            f"address not allowed: could not resolve {host!r} ({exc.strerror}); "
            "check the host name of the callback URL"
        ) from exc
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class Guard:
    """The outbound address policy; `resolve` is the only way from a host to addresses."""

    allow_private: bool = False
    allowed_networks: tuple[Network, ...] = ()
    lookup: Lookup = field(default=system_lookup, compare=False, repr=False)
    require_https: bool = False

    @classmethod
    def build(
        cls,
        allow_private: bool,
        allowed_networks: Sequence[str] = (),
        *,
        lookup: Lookup = system_lookup,
        require_https: bool = False,
    ) -> Guard:
        """A guard from the operator's settings; InvalidInput names a malformed CIDR."""
        networks = tuple(_parse_network(cidr) for cidr in allowed_networks)
        return cls(allow_private, networks, lookup, require_https)

    @classmethod
    def from_settings(cls, settings: Settings) -> Guard:
        """The guard `HOOKYARD_ALLOW_PRIVATE_CALLBACKS`, `..._ALLOWED_CALLBACK_NETWORKS` and
        `HOOKYARD_REQUIRE_HTTPS` describe."""
        return cls.build(
            settings.allow_private_callbacks,
            settings.allowed_callback_networks,
            require_https=settings.require_https,
        )

    def check_scheme(self, scheme: str) -> None:
        """AddressNotAllowed for plain http when HOOKYARD_REQUIRE_HTTPS is on."""
        if self.require_https and scheme.lower() not in ("https", "wss"):
            raise errors.AddressNotAllowed(
                f"address not allowed: this server only calls https:// callbacks "
                f"(HOOKYARD_REQUIRE_HTTPS), not {scheme}://; use an https:// callback URL"
            )

    def warnings(self) -> list[str]:
        """What `hookyard serve` logs at start: each way around the guard that is switched on."""
        found: list[str] = []
        if self.allow_private:
            found.append(
                "HOOKYARD_ALLOW_PRIVATE_CALLBACKS is on: callbacks may reach private, loopback "
                "and cloud metadata addresses; use it for development only"
            )
        if self.allowed_networks:
            listed = ", ".join(str(network) for network in self.allowed_networks)
            found.append(f"HOOKYARD_ALLOWED_CALLBACK_NETWORKS lets callbacks reach {listed}")
        return found

    def refusal(self, address: IPAddress) -> str | None:
        """None when `address` may be reached, else why not ("a private address")."""
        if self.allow_private or any(address in net for net in self.allowed_networks):
            return None
        return classify(address)

    def check(self, address: IPAddress, name: str | None = None) -> IPAddress:
        """`address`, or AddressNotAllowed saying why; `name` is the host it was resolved from."""
        reason = self.refusal(address)
        if reason is None:
            return address
        if name is None:
            raise _not_allowed(f"{address} is {reason}")
        raise _not_allowed(f"{name} resolves to {address}, which is {reason}")

    def _check_literal(self, address: IPAddress, written: str) -> IPAddress:
        reason = self.refusal(address)
        if reason is None:
            return address
        shown = str(address) if written == str(address) else f"{written} ({address})"
        raise _not_allowed(f"{shown} is {reason}")

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of `host`, each checked; AddressNotAllowed when any one is refused."""
        literal = parse_literal(host)
        if literal is not None:
            return [self._check_literal(literal, host.strip("[]"))]
        addresses: list[IPAddress] = []
        for text in await self.lookup(host.rstrip("."), port):
            address = _answer(text, host)
            if address not in addresses:
                addresses.append(self.check(address, host))
        if not addresses:
            raise _not_allowed(f"{host} has no address")
        return addresses


def _answer(text: str, host: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError as exc:
        raise _not_allowed(f"{host} resolved to {text!r}, which is not an address") from exc


def _parse_network(cidr: str) -> Network:
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError as exc:
        raise errors.InvalidInput(
            f"HOOKYARD_ALLOWED_CALLBACK_NETWORKS: {cidr!r} is not a network; "
            "write CIDRs such as 10.1.0.0/16 or fd00::/8"
        ) from exc
