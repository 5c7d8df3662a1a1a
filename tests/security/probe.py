"""Runs the SSRF matrix inside a private network namespace and prints the results as JSON.

Run by `tests/security/test_ssrf_matrix.py` as
`ip netns exec NAME python -m tests.security.probe`; it refuses to run anywhere that has a network
interface besides `lo`. Inside, it starts the namespace's DNS server on 127.0.0.1:53, a catch-all
receiver on every address of `lo` (port 8080), two receivers for the pinning test (127.0.0.1 and
127.0.0.2, port 8081), then sends every case through the real guarded aiohttp session, as the
challenge (GET ?challenge=), as the challenge a subscribe sends (the real `delivery.prober.Prober`)
and as a delivery (a POST by the real `delivery.sender.Sender`), and
reports what happened and what arrived.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from hookyard import errors, models
from hookyard.callback_url import validate_callback_url
from hookyard.delivery import http, prober, sender
from hookyard.delivery.netguard import Guard
from tests.security import dns, netns
from tests.security.ssrf_cases import (
    CASES,
    DNS_RECORDS,
    FLIP_ANSWERS,
    FLIP_NAME,
    PINNED_PORT,
    RECEIVER_PORT,
)

NAIVE_FLIP_NAME = "flip-naive.test"
REDIRECTS = {
    "/redirect/private": f"http://10.0.0.5:{RECEIVER_PORT}/landed/private",
    "/redirect/metadata": f"http://169.254.169.254:{RECEIVER_PORT}/landed/metadata",
    "/redirect/dns": f"http://private.test:{RECEIVER_PORT}/landed/dns",
}
TIMEOUT = aiohttp.ClientTimeout(total=5)
SECRET = ("c2VjcmV0LWtleS1mb3ItdGhlLXNzcmYtcHJvYmUtMzI=",)


class Recorder:
    """A receiver that records paths, echoes challenges and answers the redirect paths with 302."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        if request.path in REDIRECTS:
            return web.Response(status=302, headers={"Location": REDIRECTS[request.path]})
        return web.Response(text=request.query.get("challenge", "ok"))

    def hits(self, prefix: str) -> int:
        return sum(1 for path in self.paths if path.startswith(prefix))


@asynccontextmanager
async def listening(recorder: Recorder, hosts: list[str], port: int) -> AsyncIterator[None]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        for host in hosts:
            await web.TCPSite(runner, host, port).start()
        yield
    finally:
        await runner.cleanup()


async def outcome(call: Awaitable[aiohttp.ClientResponse]) -> dict[str, Any]:
    """What one request did: refused (with the guard's reason), answered, or failed to connect."""
    try:
        response = await call
    except errors.AddressNotAllowed as exc:
        return {"refused": exc.detail}
    except aiohttp.ClientError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    async with response:
        return {"status": response.status}


async def delivered(sending: sender.Sender, url: str) -> dict[str, Any]:
    """One try through the real delivery sender, reported like `outcome`."""
    result = await sending.send(sender.Request("dlv_probe", url, b'{"eventType": "Probe"}', SECRET))
    if result.outcome is models.Outcome.ADDRESS_NOT_ALLOWED:
        return {"refused": result.error}
    return {"outcome": str(result.outcome), "status": result.status_code, "error": result.error}


async def subscribed(challenges: prober.Prober, url: str) -> dict[str, Any]:
    """The challenge a subscribe sends, through the real prober, reported like `outcome`."""
    result = await challenges.challenge(url)
    if result.detail.startswith("address not allowed: "):
        return {"refused": result.detail}
    return {"passed": result.passed, "detail": result.detail}


async def run_cases(session: aiohttp.ClientSession) -> dict[str, Any]:
    sending = sender.Sender(session, timeout=5)
    challenges = prober.Prober(Guard(), timeout=5)
    results: dict[str, Any] = {}
    for case in CASES:
        validated: bool | str
        try:
            validated = validate_callback_url(case.url, require_https=False) == case.url
        except errors.InvalidInput as exc:
            validated = exc.detail
        challenge = http.request(session, "GET", f"{case.url}?challenge=c{len(results)}")
        results[case.id] = {
            "validated": validated,
            "challenge": await outcome(challenge),
            "subscribe": await subscribed(challenges, case.url),
            "delivery": await delivered(sending, case.url),
        }
    return results


async def flip(zone: dns.Zone, first: Recorder, second: Recorder) -> dict[str, Any]:
    """A name whose answer flips from an allowed to a refused address after the first lookup."""
    guard = Guard.build(False, ["127.0.0.1/32"])
    async with http.client_session(guard, timeout=TIMEOUT) as session:
        guarded = await outcome(
            http.request(session, "GET", f"http://{FLIP_NAME}:{PINNED_PORT}/flip/guarded")
        )
    lookups = zone.count(FLIP_NAME)
    later = await asyncio.get_running_loop().getaddrinfo(
        FLIP_NAME, PINNED_PORT, family=socket.AF_INET
    )
    naive = await naive_check_then_connect(
        guard, f"http://{NAIVE_FLIP_NAME}:{PINNED_PORT}/flip/naive"
    )
    return {
        "guarded": guarded,
        "lookups": lookups,
        "later_answer": later[0][4][0],
        "first_hits": first.hits("/flip/guarded"),
        "second_hits": second.hits("/flip/guarded"),
        "naive": naive,
        "naive_second_hits": second.hits("/flip/naive"),
    }


async def naive_check_then_connect(guard: Guard, url: str) -> dict[str, Any]:
    """The broken design the guard replaces: check the answer, then let aiohttp resolve again."""
    host = url.split("//")[1].split(":")[0]
    await guard.resolve(host, PINNED_PORT)
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        return await outcome(session.get(url, allow_redirects=False))


async def redirects(catch_all: Recorder) -> dict[str, Any]:
    guard = Guard.build(False, ["127.0.0.1/32"])
    results: dict[str, Any] = {}
    async with http.client_session(guard, timeout=TIMEOUT) as session:
        for path in REDIRECTS:
            url = f"http://127.0.0.1:{RECEIVER_PORT}{path}"
            results[path] = {
                "request": await outcome(http.request(session, "POST", url, data=b"{}")),
                "session_get": await outcome(session.get(url)),
                "sender": await delivered(sender.Sender(session, timeout=5), url),
            }
    async with aiohttp.ClientSession(timeout=TIMEOUT) as plain:
        results["unguarded_follows"] = await outcome(
            plain.get(f"http://127.0.0.1:{RECEIVER_PORT}/redirect/private")
        )
    results["landed_private"] = catch_all.hits("/landed/private")
    results["landed_guarded"] = catch_all.hits("/landed/metadata") + catch_all.hits("/landed/dns")
    return results


async def controls(catch_all: Recorder) -> dict[str, Any]:
    """The listeners are real: the operator's allow-list reaches them; public is unreachable."""
    allowed = Guard.build(False, ["10.0.0.0/8", "fd00::/8"])
    results: dict[str, Any] = {}
    async with http.client_session(allowed, timeout=TIMEOUT) as session:
        for name, host in [("v4", "10.0.0.5"), ("dns", "private.test"), ("v6", "[fd00::5]")]:
            url = f"http://{host}:{RECEIVER_PORT}/allowed/{name}"
            results[name] = await outcome(http.request(session, "GET", url))
            results[f"{name}_hits"] = catch_all.hits(f"/allowed/{name}")
    async with http.client_session(Guard(), timeout=TIMEOUT) as session:
        results["public"] = await outcome(http.request(session, "GET", "http://93.184.216.34/"))
    return results


async def main() -> dict[str, Any]:
    if not netns.inside_private_namespace():
        raise SystemExit("refusing to run: this is not a private network namespace with only lo")
    zone = dns.Zone(dict(DNS_RECORDS), {FLIP_NAME: FLIP_ANSWERS, NAIVE_FLIP_NAME: FLIP_ANSWERS})
    catch_all, first, second = Recorder(), Recorder(), Recorder()
    async with AsyncExitStack() as stack:
        server = await dns.serve(zone)
        stack.callback(server.close)
        await stack.enter_async_context(listening(catch_all, ["0.0.0.0", "::"], RECEIVER_PORT))
        await stack.enter_async_context(listening(first, ["127.0.0.1"], PINNED_PORT))
        await stack.enter_async_context(listening(second, ["127.0.0.2"], PINNED_PORT))
        async with http.client_session(Guard(), timeout=TIMEOUT) as session:
            cases = await run_cases(session)
        case_hits = catch_all.hits("/case/")
        return {
            "cases": cases,
            "case_hits": case_hits,
            "flip": await flip(zone, first, second),
            "redirects": await redirects(catch_all),
            "controls": await controls(catch_all),
        }


if __name__ == "__main__":
    json.dump(asyncio.run(main()), sys.stdout)
