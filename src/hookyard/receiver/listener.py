"""The development listener behind `hookyard listen` (imports aiohttp).

It answers challenges, verifies deliveries when it holds the secret key, optionally forwards each
raw request to a local app and relays its status, and reports every request it saw as a `Seen`
value to a callback (the CLI prints them). `respond` forces the status of event POSTs, so a
developer can watch Hookyard retry and stop a subscription; challenges are still answered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import aiohttp
import yarl
from aiohttp import web

from hookyard import errors, signing
from hookyard.receiver import challenge, events, verification

FORWARD_TIMEOUT = 30.0
MAX_BODY = 16 * 1024 * 1024
HOP_BY_HOP = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te"}
)


@dataclass(frozen=True)
class Seen:
    """One request the listener answered, and how."""

    method: str
    path_qs: str
    headers: Mapping[str, str]
    body: bytes
    status: int
    challenge: str | None = None
    event: events.Event | None = None
    verified: bool | None = None
    problem: str | None = None
    forwarded_to: str | None = None
    forward_error: str | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Options:
    """What the listener does: verify with `secret`, forward to `forward_to`, force `respond`."""

    secret: str | None = None
    forward_to: str | None = None
    respond: int | None = None
    tolerance: int = verification.DEFAULT_TOLERANCE


class Listener:
    """Start with `await listener.start(host, port)`, stop with `await listener.close()`."""

    def __init__(self, options: Options, report: Callable[[Seen], None]) -> None:
        if options.secret is not None:
            signing.decode_secret(options.secret)
        self._options = options
        self._report = report
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self, host: str, port: int) -> str:
        """Serve on host:port (0: any free port); the URL it listens on. OSError if taken."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        if self._options.forward_to:
            timeout = aiohttp.ClientTimeout(total=FORWARD_TIMEOUT)
            self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        return f"http://{shown}:{bound_port}"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        headers = {name: value for name, value in request.headers.items()}
        seen = Seen(request.method, request.path_qs, headers, await request.read(), status=0)
        if request.method == "POST":
            answer, seen = await self._event(request, seen)
        elif self._options.forward_to:
            answer, seen = await self._forward(request, seen)
        elif request.method == "GET":
            answer, seen = self._challenge(request, seen)
        else:
            answer = Answer(405, b"hookyard listen answers GET (challenge) and POST (events)")
        self._report(replace(seen, status=answer.status))
        return web.Response(
            status=answer.status, body=answer.body, content_type=answer.content_type
        )

    def _challenge(self, request: web.Request, seen: Seen) -> tuple[Answer, Seen]:
        value = challenge.challenge_response({k: v for k, v in request.query.items()})
        if value is None:
            return Answer(400, b"a GET here must carry a challenge query parameter"), seen
        return Answer(200, value.encode()), replace(seen, challenge=value)

    async def _event(self, request: web.Request, seen: Seen) -> tuple[Answer, Seen]:
        try:
            seen = self._read(seen)
        except errors.WebhookVerificationFailed as exc:
            return Answer(401, exc.detail.encode()), replace(
                seen, verified=False, problem=exc.detail
            )
        except errors.InvalidInput as exc:
            seen = replace(seen, problem=exc.detail)
        answer = Answer(200)
        if self._options.forward_to:
            answer, seen = await self._forward(request, seen)
        if self._options.respond is not None:
            answer = Answer(self._options.respond)
        return answer, seen

    def _read(self, seen: Seen) -> Seen:
        if self._options.secret is not None:
            event = verification.verify(
                self._options.secret, seen.headers, seen.body, self._options.tolerance
            )
            return replace(seen, event=event, verified=True)
        webhook_id = {k.lower(): v for k, v in seen.headers.items()}.get(signing.ID_HEADER)
        event = events.parse_event(events.loads(seen.body), webhook_id=webhook_id)
        return replace(seen, event=event)

    async def _forward(self, request: web.Request, seen: Seen) -> tuple[Answer, Seen]:
        assert self._session is not None
        assert self._options.forward_to is not None
        target = yarl.URL(self._options.forward_to).extend_query(list(request.query.items()))
        seen = replace(seen, forwarded_to=str(target))
        sent = {k: v for k, v in seen.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            async with self._session.request(
                request.method, target, headers=sent, data=seen.body, allow_redirects=False
            ) as response:
                relayed = await response.read()
                kind = response.content_type or "application/octet-stream"
                return Answer(response.status, relayed, kind), seen
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            problem = f"could not forward to {target}: {reason}; is your app running?"
            return Answer(502, problem.encode()), replace(seen, forward_error=problem)
