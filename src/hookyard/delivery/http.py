"""The outbound HTTP client: aiohttp whose connector lets only guarded, pinned addresses through.

`client_session(guard)` is the one way to make outbound requests (challenges and deliveries). Its
connector enforces the guard on every connection, so no caller can forget it:

- the host of every request, literal or name, goes through `Guard.resolve` exactly once; the
  connection is opened to the checked addresses only (pinned), never to a second DNS answer;
- each address is checked again just before the socket connects;
- with `HOOKYARD_REQUIRE_HTTPS`, plain http connections are refused too;
- outbound proxies are refused (the guard must see the final address), and the session never
  reads proxy settings from the environment;
- redirects are never followed: `request()` sends with `allow_redirects=False`, and a session
  request that would follow one fails with AddressNotAllowed instead.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.client import _RequestContextManager

from hookyard import __version__, errors
from hookyard.delivery.netguard import Guard

if TYPE_CHECKING:
    from aiohttp.client_proto import ResponseHandler
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.connector import AddrInfoType
    from aiohttp.tracing import Trace

USER_AGENT = f"Hookyard/{__version__}"


class GuardedConnector(aiohttp.TCPConnector):
    """A TCP connector that connects only to addresses `guard` checked for this connection."""

    def __init__(self, guard: Guard, **kwargs: Any) -> None:
        super().__init__(use_dns_cache=False, **kwargs)
        self.guard = guard

    async def _create_connection(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> ResponseHandler:
        self.guard.check_scheme(req.url.scheme)
        return await super()._create_connection(req, traces, timeout)

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Trace] | None = None
    ) -> list[ResolveResult]:
        addresses = await self.guard.resolve(host, port)
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

    async def _wrap_create_connection(
        self,
        *args: Any,
        addr_infos: list[AddrInfoType],
        req: ClientRequest,
        timeout: aiohttp.ClientTimeout,
        client_error: type[Exception] = aiohttp.ClientConnectorError,
        **kwargs: Any,
    ) -> tuple[Any, ResponseHandler]:
        for info in addr_infos:
            self.guard.check(ipaddress.ip_address(info[4][0]))
        return await super()._wrap_create_connection(
            *args,
            addr_infos=addr_infos,
            req=req,
            timeout=timeout,
            client_error=client_error,
            **kwargs,
        )

    async def _create_proxy_connection(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> tuple[Any, ResponseHandler]:
        raise errors.AddressNotAllowed(
            "address not allowed: outbound proxies are not supported, because the network guard "
            "must see the address it connects to; remove the proxy setting"
        )


async def _refuse_redirect(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestRedirectParams,
) -> None:
    location = params.response.headers.get("Location", "")
    params.response.close()
    raise errors.AddressNotAllowed(
        f"address not allowed: {params.url} answered {params.response.status} redirecting to "
        f"{location!r}, and redirects are never followed; send with allow_redirects=False"
    )


def client_session(guard: Guard, *, limit: int = 256, **kwargs: Any) -> aiohttp.ClientSession:
    """A session whose every connection goes through `guard`; send with `request()`.

    Extra keyword arguments go to aiohttp.ClientSession (timeout, ...); `connector`, `proxy`,
    `trust_env` and `trace_configs` are not accepted because they could bypass the guard.
    """
    refused = sorted({"connector", "proxy", "trust_env", "trace_configs"} & kwargs.keys())
    if refused:
        raise TypeError(f"client_session() does not accept {', '.join(refused)}")
    redirects = aiohttp.TraceConfig()
    redirects.on_request_redirect.append(_refuse_redirect)
    return aiohttp.ClientSession(
        connector=GuardedConnector(guard, limit=limit),
        headers={"User-Agent": USER_AGENT},
        auto_decompress=False,
        trust_env=False,
        trace_configs=[redirects],
        **kwargs,
    )


def request(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> _RequestContextManager:
    """`session.request` that never follows a redirect: a 3xx comes back as the response.

    Use as `async with request(session, "POST", url, data=body) as response: ...`.
    """
    if kwargs.pop("allow_redirects", False):
        raise TypeError("request() never follows redirects; drop allow_redirects=True")
    if "proxy" in kwargs:
        raise TypeError("request() does not accept a proxy: the guard must see the final address")
    return session.request(method, url, allow_redirects=False, **kwargs)


async def read_prefix(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The first `limit` bytes of the response body; the rest is never read."""
    body = b""
    while len(body) < limit:
        chunk = await response.content.read(limit - len(body))
        if not chunk:
            break
        body += chunk
    return body
