"""A real HTTP receiver on 127.0.0.1 that records every request and answers as told.

Tests script it per path with `Behaviour` values (a status, a body, a delay, echo the challenge,
never answer, reset the connection) and wait for what it received with `wait_for`, a condition
polled against a deadline (never a bare sleep).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Behaviour:
    """How the receiver answers one request."""

    status: int = 200
    body: str | None = None
    delay: float = 0.0
    echo_challenge: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    blackhole: bool = False
    reset: bool = False


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    """Start with `await Receiver.start()`, stop with `await receiver.stop()`."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: dict[str, list[Behaviour]] = {}
        self.default = Behaviour()
        self._runner: web.AppRunner | None = None
        self._blackholed: list[asyncio.Event] = []
        self.port = 0

    @classmethod
    async def start(cls) -> Receiver:
        receiver = cls()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", receiver._handle)
        receiver._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await receiver._runner.setup()
        site = web.TCPSite(receiver._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # typed AbstractServer; loop.create_server's asyncio.Server
        assert isinstance(server, asyncio.Server)
        receiver.port = server.sockets[0].getsockname()[1]
        return receiver

    async def stop(self) -> None:
        for released in self._blackholed:
            released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, *behaviours: Behaviour) -> None:
        """Answer the next requests on `path` with these behaviours in turn; the last repeats."""
        self.script[path] = list(behaviours)

    def received(self, method: str | None = None, path: str | None = None) -> list[Received]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    def posts(self, path: str | None = None) -> list[Received]:
        return self.received("POST", path)

    async def wait_for(
        self, condition: Callable[[], bool], timeout: float = 15.0, what: str = "condition"
    ) -> None:
        await wait_until(condition, timeout=timeout, what=what)

    def _behaviour(self, path: str) -> Behaviour:
        queue = self.script.get(path)
        if not queue:
            return self.default
        return queue.pop(0) if len(queue) > 1 else queue[0]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Received(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                body,
                time.monotonic(),
            )
        )
        behaviour = self._behaviour(request.path)
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if behaviour.blackhole:
            released = asyncio.Event()
            self._blackholed.append(released)
            await released.wait()
        if behaviour.reset and request.transport is not None:
            request.transport.abort()
            return web.Response(status=200)
        text = behaviour.body
        if text is None and request.method == "GET" and behaviour.echo_challenge:
            text = request.query.get("challenge", "")
        return web.Response(status=behaviour.status, text=text or "", headers=behaviour.headers)


async def wait_until(condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    """Poll `condition` until it holds; fail with `what` once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(0.01)
