"""Receivers on 127.0.0.1 that count `webhook-id`s, and may flap (500s, resets, timeouts).

A receiver counts a delivery as received only when it answers it 2xx: that is when a real
receiver would have processed it (deduplicating by `webhook-id`). A second 2xx for the same id is
a duplicate. Flapping is drawn from a seeded random source, so a run can be repeated.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from hookyard import signing


@dataclass(frozen=True)
class Flaps:
    """Chances, per request, of each way of failing; the rest are answered 200."""

    error: float = 0.0
    reset: float = 0.0
    hang: float = 0.0
    hang_seconds: float = 2.0
    delay_seconds: float = 0.0
    """Every answer waits this long first: a receiver that takes its time keeps tries in flight."""

    def draw(self, source: random.Random) -> str:
        roll = source.random()
        for name, chance in (("error", self.error), ("reset", self.reset), ("hang", self.hang)):
            if roll < chance:
                return name
            roll -= chance
        return "ok"


STEADY = Flaps()


class CountingReceiver:
    """One HTTP server on a free loopback port; `ok` counts each `webhook-id` answered 2xx."""

    def __init__(self, flaps: Flaps, seed: int) -> None:
        self.flaps = flaps
        self.ok: Counter[str] = Counter()
        self.requests = 0
        self.failures: Counter[str] = Counter()
        self.port = 0
        self._random = random.Random(seed)
        self._runner: web.AppRunner | None = None
        self._hanging: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # typed AbstractServer; loop.create_server's asyncio.Server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.requests += 1
        webhook_id = request.headers.get(signing.ID_HEADER, "")
        fate = self.flaps.draw(self._random)
        if self.flaps.delay_seconds:
            await asyncio.sleep(self.flaps.delay_seconds)
        if fate == "ok":
            self.ok[webhook_id] += 1
            return web.Response(status=200)
        self.failures[fate] += 1
        if fate == "reset" and request.transport is not None:
            request.transport.abort()
            return web.Response(status=200)
        if fate == "hang":
            await asyncio.sleep(self.flaps.hang_seconds)
        return web.Response(status=500)


class Receivers:
    """Several counting receivers, one port each."""

    def __init__(self, count: int, flaps: Flaps = STEADY, seed: int = 13) -> None:
        self.all = [CountingReceiver(flaps, seed + n) for n in range(count)]

    async def __aenter__(self) -> Receivers:
        for receiver in self.all:
            await receiver.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for receiver in self.all:
            await receiver.stop()

    def urls(self) -> list[str]:
        return [receiver.url() for receiver in self.all]

    def answered(self) -> Counter[str]:
        """2xx answers per `webhook-id`, over every receiver."""
        total: Counter[str] = Counter()
        for receiver in self.all:
            total.update(receiver.ok)
        return total

    def total_answered(self) -> int:
        return sum(sum(receiver.ok.values()) for receiver in self.all)

    def failures(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for receiver in self.all:
            total.update(receiver.failures)
        return total
