"""The benchmark receiver: a separate process on 127.0.0.1 that answers 200 and counts.

Run as `python -m benchmarks.receiver --healthy N --blackhole K`. It listens on N healthy ports
(answer `200 ok` at once, echo a `challenge` query on GET) and K blackhole ports (accept, read,
never answer), prints `{"healthy": [...], "blackhole": [...]}` as its first stdout line, then takes
commands on stdin, one per line, answering one JSON line each:

- `stats`: requests, distinct `webhook-id`s, duplicates, requests per port, the time of the
  latest first receipt (`last_new_at`, wall clock, comparable across processes).
- `dump PATH`: writes `{webhook-id: [first receipt time, tag, port]}` to PATH (the tag is the
  event's `projectId`, which the publisher maps to its publish time).
- `reset`: forgets everything counted.

It is an `asyncio.Protocol` on `httptools` under uvloop, chosen over an `aiohttp.web` receiver by
measurement (docs/performance.md), and it costs a fraction of the sender's CPU.
`ReceiverProcess` is the parent's handle; it stops the child by pid.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httptools

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
TAG = re.compile(rb'"projectId"\s*:\s*"([^"]*)"')


@dataclass
class Counts:
    """What the receiver has seen."""

    first: dict[str, tuple[float, str, int]] = field(default_factory=dict)
    requests: int = 0
    duplicates: int = 0
    without_id: int = 0
    per_port: dict[int, int] = field(default_factory=dict)
    last_new_at: float = 0.0
    blackhole_ports: frozenset[int] = frozenset()
    healthy_distinct: int = 0

    def reset(self) -> None:
        """Forget what was seen; which ports are blackholes stays."""
        fresh = Counts(blackhole_ports=self.blackhole_ports)
        for name in [f.name for f in fields(self)]:
            setattr(self, name, getattr(fresh, name))

    def record(self, msg_id: str | None, body: bytes, port: int) -> None:
        now = time.time()
        self.requests += 1
        self.per_port[port] = self.per_port.get(port, 0) + 1
        if msg_id is None:
            self.without_id += 1
        elif msg_id in self.first:
            self.duplicates += 1
        else:
            match = TAG.search(body)
            self.first[msg_id] = (now, match.group(1).decode() if match else "", port)
            if port not in self.blackhole_ports:
                self.healthy_distinct += 1
                self.last_new_at = now

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "distinct": len(self.first),
            "healthy_distinct": self.healthy_distinct,
            "duplicates": self.duplicates,
            "without_id": self.without_id,
            "per_port": {str(port): count for port, count in self.per_port.items()},
            "last_new_at": self.last_new_at,
        }


class Connection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection, parsed by httptools."""

    def __init__(self, counts: Counts, port: int, blackhole: bool) -> None:
        self.counts = counts
        self.port = port
        self.blackhole = blackhole
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.msg_id: str | None = None
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""
        self.msg_id = None
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"webhook-id":
            self.msg_id = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.transport is None or self.blackhole:
            self.counts.record(self.msg_id, b"".join(self.body), self.port)
            return
        if self.parser.get_method() == b"GET":
            self.transport.write(_challenge_answer(self.url))
        else:
            self.counts.record(self.msg_id, b"".join(self.body), self.port)
            self.transport.write(OK)
        if not self.parser.should_keep_alive():
            self.transport.close()


def _challenge_answer(url: bytes) -> bytes:
    query = parse_qs(urlsplit(url.decode()).query)
    body = query.get("challenge", [""])[0].encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def _listen(counts: Counts, blackhole: bool) -> tuple[asyncio.Server, int]:
    loop = asyncio.get_running_loop()
    port_box: list[int] = []
    server = await loop.create_server(
        lambda: Connection(counts, port_box[0], blackhole), "127.0.0.1", 0, backlog=1024
    )
    port_box.append(server.sockets[0].getsockname()[1])
    return server, port_box[0]


def _command(counts: Counts, line: str) -> dict[str, Any]:
    verb, _, argument = line.strip().partition(" ")
    if verb == "stats":
        return counts.stats()
    if verb == "dump":
        Path(argument).write_text(json.dumps(counts.first))
        return {"dumped": len(counts.first)}
    if verb == "reset":
        counts.reset()
        return {"reset": True}
    return {"error": f"unknown command {verb!r}"}


async def serve(healthy: int, blackhole: int) -> None:
    counts = Counts()
    servers = [await _listen(counts, False) for _ in range(healthy)]
    servers += [await _listen(counts, True) for _ in range(blackhole)]
    ports = {
        "healthy": [port for _, port in servers[:healthy]],
        "blackhole": [port for _, port in servers[healthy:]],
    }
    counts.blackhole_ports = frozenset(ports["blackhole"])
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode():
        print(json.dumps(_command(counts, line)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--healthy", type=int, default=1)
    parser.add_argument("--blackhole", type=int, default=0)
    args = parser.parse_args()
    import uvloop

    uvloop.run(serve(args.healthy, args.blackhole))


class ReceiverProcess:
    """The parent's handle on a receiver child process: start, ask, wait, stop by pid."""

    def __init__(self, healthy: int = 1, blackhole: int = 0) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.receiver",
                f"--healthy={healthy}",
                f"--blackhole={blackhole}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        ports = json.loads(self._line())
        self.healthy: list[int] = ports["healthy"]
        self.blackhole: list[int] = ports["blackhole"]

    @property
    def pid(self) -> int:
        return self.process.pid

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark receiver exited; see its stderr above")
        return line

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self._line())
        return answer

    def urls(self, path: str = "/hook") -> list[str]:
        return [f"http://127.0.0.1:{port}{path}" for port in self.healthy]

    def blackhole_urls(self, path: str = "/hook") -> list[str]:
        return [f"http://127.0.0.1:{port}{path}" for port in self.blackhole]

    def stats(self) -> dict[str, Any]:
        return self.ask("stats")

    def reset(self) -> None:
        self.ask("reset")

    def first_receipts(self, scratch: Path) -> dict[str, tuple[float, str, int]]:
        """Every distinct webhook-id: (first receipt time, tag, port)."""
        path = scratch / f"receipts-{os.getpid()}-{time.monotonic_ns()}.json"
        self.ask(f"dump {path}")
        receipts = {
            key: (at, tag, port) for key, (at, tag, port) in json.loads(path.read_text()).items()
        }
        path.unlink()
        return receipts

    def wait_distinct(self, count: int, timeout: float, *, settle: float = 0.0) -> dict[str, Any]:
        """Stats once `count` distinct ids reached the healthy ports, or at the deadline."""
        deadline = time.monotonic() + timeout
        stats = self.stats()
        while stats["healthy_distinct"] < count and time.monotonic() < deadline:
            time.sleep(0.02)
            stats = self.stats()
        if settle:
            time.sleep(settle)
            stats = self.stats()
        return stats

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> ReceiverProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    main()
