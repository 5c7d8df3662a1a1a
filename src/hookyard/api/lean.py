"""The lean publish path: `POST /events/api/v1/{product}` and `.../batch` without routing,
dependency solving or request objects.

A product back end's publishes are most of the requests a Hookyard serves, and through FastAPI's
machinery a single-event publish cost more CPU than storing it. `LeanPublish` answers the
ordinary publish itself: a JSON body of the right shape, a bearer token. It checks the same
limits as `limits.RequestLimits`, authenticates and authorizes with the same functions as the
routes' dependencies, calls the same `EventService`, and renders errors with the same
`problems` functions, so its answers are the routes' answers (a test sends every kind of publish
both ways and compares). Anything else (no token, a body that is not JSON or not the expected
shape, headers over the limit) goes on to the FastAPI app, with the body already read given
back, and is answered there. The two routes stay in the app, which is what the OpenAPI document
describes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from hookyard import errors
from hookyard.api import limits, problems
from hookyard.api.auth import scoped
from hookyard.api.context import AppContext, open_publishing
from hookyard.services import access, identity
from hookyard.services.events import Published

PREFIX = "/events/api/v1/"
BATCH = "batch"
REPLAYED = b"idempotent-replayed"
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def route(scope: Scope) -> tuple[str, bool] | None:
    """(product, batch) when `scope` is a publish request, else None."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
        return None
    if scope.get("query_string"):
        return None  # publishes take no query parameters: the routes judge any
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    product, slash, rest = path[len(PREFIX) :].partition("/")
    if not product or (slash and rest != BATCH):
        return None
    return product, bool(slash)


class LeanPublish:
    """Publishes answered directly; everything else passed to `fallback`."""

    def __init__(self, context: AppContext, fallback: ASGIApp) -> None:
        self._context = context
        self._fallback = fallback
        settings = context.settings
        self._max_body = settings.max_body_bytes
        self._max_headers = settings.max_header_bytes
        self._max_depth = settings.max_json_depth
        self.answered = 0
        """How many requests the lean path answered itself (not passed on)."""

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, product: str, batch: bool
    ) -> None:
        wanted = _Headers.of(scope["headers"])
        declared = wanted.content_length
        too_big = declared is not None and declared.isdigit() and int(declared) > self._max_body
        if wanted.size > self._max_headers or too_big:
            await self._fallback(scope, receive, send)
            return
        body = await limits.read_body(receive, self._max_body)
        if body is None:
            self.answered += 1
            await limits.too_large(self._max_body)(scope, receive, send)
            return
        token = _bearer(wanted.authorization)
        data = _parsed(body, wanted.content_type, self._max_depth)
        if token is None or not isinstance(data, list if batch else dict):
            await self._fallback(scope, limits.replay(body, receive), send)
            return
        self.answered += 1
        key = wanted.idempotency_key
        idempotency_key = key.decode("latin-1") if key is not None else None
        try:
            published = await self._publish(token, product, batch, data, idempotency_key)
        except errors.HookyardError as exc:
            await problems.error_response(exc)(scope, receive, send)
            return
        except Exception as exc:  # the routes' last-resort handler, the same answer
            await problems.unexpected(exc)(scope, receive, send)
            return
        await _accepted(send, published, batch)

    async def _publish(
        self, token: str, product: str, batch: bool, data: Any, key: str | None
    ) -> list[Published]:
        context = self._context
        caller = scoped(await context.identity.authenticate(token), identity.EVENTS_PUBLISH)
        publishing = open_publishing(context)
        publisher, for_company = caller.client_id, access.publishes_for(caller)
        if batch:
            return await publishing.publish_many(
                product, data, publisher_id=publisher, idempotency_key=key, for_company=for_company
            )
        published = await publishing.publish(
            product, data, publisher_id=publisher, idempotency_key=key, for_company=for_company
        )
        return [published]


@dataclass
class _Headers:
    """The request headers the lean path reads (the first of each, as Starlette reads them),
    and the size of them all."""

    size: int = 0
    authorization: bytes | None = None
    content_type: bytes | None = None
    content_length: bytes | None = None
    idempotency_key: bytes | None = None

    @classmethod
    def of(cls, headers: list[tuple[bytes, bytes]]) -> _Headers:
        found = cls()
        for name, value in headers:
            found.size += len(name) + len(value)
            attribute = WANTED.get(name)
            if attribute is not None and getattr(found, attribute) is None:
                setattr(found, attribute, value)
        return found


WANTED = {
    b"authorization": "authorization",
    b"content-type": "content_type",
    b"content-length": "content_length",
    b"idempotency-key": "idempotency_key",
}


def _bearer(authorization: bytes | None) -> str | None:
    """The token of `Authorization: Bearer <token>` (as FastAPI's HTTPBearer reads it)."""
    if not authorization:
        return None
    scheme, _, token = authorization.decode("latin-1").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _parsed(body: bytes, content_type: bytes | None, max_depth: int) -> Any:
    """The JSON body, or None when the routes should judge it (not JSON, too deep)."""
    if not body or content_type is None or not limits.is_json(content_type):
        return None
    if limits.deeper_than(body, max_depth):
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


async def _accepted(send: Send, published: list[Published], batch: bool) -> None:
    ids = [p.event_id for p in published]
    body = orjson.dumps({"eventIds": ids} if batch else {"eventId": ids[0]})
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    if published and all(p.duplicate for p in published):
        headers.append((REPLAYED, b"true"))
    await send({"type": "http.response.start", "status": 202, "headers": headers})
    await send({"type": "http.response.body", "body": body})
