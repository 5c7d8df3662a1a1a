"""CPU per POST: Hookyard's `Sender.send` against the ceiling's request, same client and loop.

    python -m benchmarks.sender_cpu --count 40000

Starts the benchmark receiver (8 ports), then POSTs `count` signed bodies at concurrency 64 twice
in one process under uvloop: once as the ceiling does (`benchmarks.ceiling`), once through
`hookyard.delivery.sender.Sender` (timing, outcome, the first 4 KiB of the answer). Prints the
process CPU per POST of each: what a try costs beyond the bare request.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import uvloop

from benchmarks import ceiling, payloads
from benchmarks.receiver import ReceiverProcess
from hookyard.delivery import http
from hookyard.delivery.netguard import Guard
from hookyard.delivery.sender import Request, Sender

CONCURRENCY = 64
SECRET = (payloads.SECRET,)


async def _timed(count: int, post: Callable[[int], Awaitable[object]]) -> float:
    """CPU seconds per POST of `count` POSTs, CONCURRENCY at a time."""
    left = list(range(count))

    async def lane() -> None:
        while left:
            await post(left.pop())

    started = time.process_time()
    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    return (time.process_time() - started) / count


async def _run(urls: list[str], count: int) -> tuple[float, float]:
    guard = Guard.build(allow_private=True)
    async with http.client_session(guard, limit=CONCURRENCY) as session:
        sender = Sender(session, timeout=10)
        body = payloads.delivery_body(1)

        async def bare(seq: int) -> None:
            await ceiling.post(session, urls[seq % len(urls)], seq)

        async def hookyard(seq: int) -> None:
            await sender.send(Request(f"dlv_{seq}", urls[seq % len(urls)], body, SECRET))

        return await _timed(count, bare), await _timed(count, hookyard)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40000)
    args = parser.parse_args()
    with ReceiverProcess(healthy=8) as receiver:
        bare, sent = uvloop.run(_run(receiver.urls(), args.count))
    print(f"ceiling request {bare * 1e6:.1f} us CPU per POST; Sender.send {sent * 1e6:.1f} us")


if __name__ == "__main__":
    main()
