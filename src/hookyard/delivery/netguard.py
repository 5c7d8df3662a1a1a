"""Which outbound addresses Hookyard may reach: the SSRF guard for challenges and deliveries.

The host is resolved first, every address is checked, and only checked addresses are handed to
the connection (see `hookyard.delivery.http`), so a DNS answer that changes between the check and
the connect cannot redirect the request. An address passes when it is globally routable, or when
the operator allowed it (`HOOKYARD_ALLOWED_CALLBACK_NETWORKS`, `HOOKYARD_ALLOW_PRIVATE_CALLBACKS`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from hookyard import errors

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Guard:
    """The outbound address policy."""

    allow_private: bool = False
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def build(cls, allow_private: bool, allowed_networks: Sequence[str] = ()) -> Guard:
        networks = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in allowed_networks)
        return cls(allow_private=allow_private, allowed_networks=networks)

    def refusal(self, address: IPAddress) -> str | None:
        """None when `address` may be reached, else why not."""
        if any(address in network for network in self.allowed_networks):
            return None
        if self.allow_private or address.is_global:
            return None
        return f"{address} is not a public address"

    def check(self, address: IPAddress) -> None:
        reason = self.refusal(address)
        if reason is not None:
            raise errors.AddressNotAllowed(
                f"address not allowed: {reason}; callbacks must reach a public address"
            )

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of `host`, each checked; AddressNotAllowed when any is refused."""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise errors.AddressNotAllowed(f"could not resolve {host!r}: {exc.strerror}") from exc
        addresses: list[IPAddress] = []
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if address not in addresses:
                addresses.append(address)
        for address in addresses:
            self.check(address)
        return addresses
