"""The ceiling: the same signed POSTs with no persistence at all, and no Hookyard code.

`python -m benchmarks.ceiling --out FILE --count N --concurrency C URL...` POSTs N signed
Pre-Construction bodies round-robin over the URLs under uvloop, C at a time, or at `--rate` per
second when given. It writes `{"started_at", "finished_at", "published": {seq: time}}` to FILE.
Each body is built and signed at send time, as a Hookyard attempt is.

`--client plain` (the default, the honest ceiling) is a bare `aiohttp.ClientSession` with
`TCPConnector(limit=C, limit_per_host=8)`: nothing of Hookyard's client in it, so Hookyard's own
client overhead counts against Hookyard. `--client guarded` goes through
`hookyard.delivery.http` (the guarded session and `request`, as the sender uses them): the
second line, which shows what the client itself costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from benchmarks import payloads
from hookyard.delivery import http
from hookyard.delivery.netguard import Guard

PER_HOST = 8
TIMEOUT = aiohttp.ClientTimeout(total=10)


async def post(session: aiohttp.ClientSession, url: str, seq: int) -> None:
    """One signed POST through Hookyard's guarded client."""
    body = payloads.delivery_body(seq)
    headers = payloads.signed_headers(body, int(time.time()))
    async with http.request(
        session, "POST", url, data=body, headers=headers, timeout=TIMEOUT
    ) as response:
        await response.read()


async def plain_post(session: aiohttp.ClientSession, url: str, seq: int) -> None:
    """The same signed POST through a bare aiohttp session."""
    body = payloads.delivery_body(seq)
    headers = payloads.signed_headers(body, int(time.time()))
    async with session.post(url, data=body, headers=headers, timeout=TIMEOUT) as response:
        await response.read()


Post = Callable[[aiohttp.ClientSession, str, int], Awaitable[None]]


async def _worker(
    session: aiohttp.ClientSession,
    send: Post,
    urls: list[str],
    jobs: asyncio.Queue[int],
    published: dict[int, float],
) -> None:
    while True:
        seq = await jobs.get()
        if seq < 0:
            return
        published[seq] = time.time()
        for _ in range(3):
            try:
                await send(session, urls[seq % len(urls)], seq)
                break
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.05)


async def _feed(jobs: asyncio.Queue[int], count: int, rate: float, workers: int) -> None:
    start = time.monotonic()
    for seq in range(count):
        if rate:
            delay = start + seq / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await jobs.put(seq)
    for _ in range(workers):
        await jobs.put(-1)


def _session(client: str, concurrency: int) -> aiohttp.ClientSession:
    if client == "guarded":
        return http.client_session(Guard.build(allow_private=True), limit=concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=PER_HOST)
    return aiohttp.ClientSession(connector=connector)


async def run(
    urls: list[str], count: int, concurrency: int, rate: float, client: str = "plain"
) -> dict[str, object]:
    published: dict[int, float] = {}
    jobs: asyncio.Queue[int] = asyncio.Queue(maxsize=concurrency * 2)
    send: Post = post if client == "guarded" else plain_post
    async with _session(client, concurrency) as session:
        started = time.time()
        tasks = [
            asyncio.create_task(_worker(session, send, urls, jobs, published))
            for _ in range(concurrency)
        ]
        await _feed(jobs, count, rate, concurrency)
        await asyncio.gather(*tasks)
    return {"started_at": started, "finished_at": time.time(), "published": published}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--client", choices=("plain", "guarded"), default="plain")
    args = parser.parse_args()
    import uvloop

    result = uvloop.run(run(args.urls, args.count, args.concurrency, args.rate, args.client))
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
