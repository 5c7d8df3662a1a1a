"""The outbound HTTP client: aiohttp with the network guard in its resolver, no redirects."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from hookyard import __version__
from hookyard.delivery.netguard import Guard

USER_AGENT = f"Hookyard/{__version__}"


class GuardedResolver(AbstractResolver):
    """Resolves through the guard: the connection only ever gets checked addresses."""

    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._guard.resolve(host, port)
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def client_session(guard: Guard, *, limit: int = 256, **kwargs: Any) -> aiohttp.ClientSession:
    """A session whose every connection goes through `guard`. Callers pass allow_redirects=False."""
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(guard), limit=limit, ttl_dns_cache=None, use_dns_cache=False
    )
    return aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": USER_AGENT}, auto_decompress=False, **kwargs
    )
