"""Request limits, checked before any route runs: header size (431), a query parameter given
more than once (400: every parameter of the API is a single value, and a route would silently
take one of them), body size (413, while the body streams in, declared or chunked) and JSON
nesting depth (400). The console's pages (`/console`) read their own query strings."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl

import orjson
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookyard.api import problems

CONSOLE = "/console"


class RequestLimits:
    """Refuse requests over the configured limits with a problem+json answer."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int, max_json_depth: int
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if sum(len(k) + len(v) for k, v in scope["headers"]) > self.max_header_bytes:
            detail = f"The request headers are larger than {self.max_header_bytes} bytes."
            await problems.problem(431, "Request headers too large", detail)(scope, receive, send)
            return
        repeated = repeated_parameters(scope)
        if repeated:
            errors = {name: [f"is given {n} times; send it once"] for name, n in repeated.items()}
            detail = "; ".join(f"{name}: {messages[0]}" for name, messages in errors.items())
            answer = problems.problem(400, "Invalid request", detail, field_errors=errors)
            await answer(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        body = await read_body(receive, self.max_body_bytes)
        if body is None:
            await self._too_large(scope, receive, send)
            return
        if is_json(headers.get(b"content-type", b"")) and deeper_than(body, self.max_json_depth):
            detail = f"The JSON body nests deeper than {self.max_json_depth} levels."
            await problems.problem(400, "Invalid request", detail)(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await too_large(self.max_body_bytes)(scope, receive, send)


def repeated_parameters(scope: Scope) -> dict[str, int]:
    """The query parameters of an API request given more than once, with how many times."""
    query: bytes = scope.get("query_string", b"")
    if not query or scope["path"].startswith(CONSOLE):
        return {}
    counts = Counter(name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    return {name: n for name, n in counts.items() if n > 1}


def too_large(max_body_bytes: int) -> JSONResponse:
    """The 413 answer to a body over `max_body_bytes`."""
    detail = f"The request body is larger than {max_body_bytes} bytes; send less."
    return problems.problem(413, "Payload too large", detail)


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it grows past `limit` bytes."""
    message = await receive()
    if message["type"] != "http.request":
        return b""
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body if len(body) <= limit else None
    chunks = [body]
    size = len(body)
    while size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks) if size <= limit else None


def is_json(content_type: bytes) -> bool:
    """Whether a Content-Type header's value names JSON (`application/json` or `...+json`)."""
    media = content_type.split(b";")[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive` with `body`, already read, given back first."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def deeper_than(body: bytes, limit: int) -> bool:
    """Whether `body` nests deeper than `limit`; unparsable JSON is left to the route.

    Each level opens with `{` or `[`, so a body with no more of them than `limit` cannot be
    deeper: nearly every request is answered by counting, without parsing the body twice."""
    if body.count(b"{") + body.count(b"[") <= limit:
        return False
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return False
    return json_depth(data) > limit


def json_depth(data: object) -> int:
    """How many lists and objects deep `data` nests (a scalar is 0)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            values = item.values() if isinstance(item, dict) else item
            stack.extend((value, depth + 1) for value in values)
    return deepest
