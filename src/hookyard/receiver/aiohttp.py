"""aiohttp adapter (imports aiohttp).

app.router.add_route("*", "/webhooks", handler(SECRET, handle))
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from hookyard.receiver import events, verification
from hookyard.receiver.webhook import Webhook

Handler = Callable[[events.Event], object]


def handler(
    secret_key: str | Sequence[str],
    on_event: Handler,
    *,
    tolerance: int = verification.DEFAULT_TOLERANCE,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A request handler answering the challenge GET and calling `on_event` (sync or async) per
    verified POST. An exception in `on_event` becomes a 500, so Hookyard retries the delivery."""
    webhook = Webhook(secret_key, tolerance=tolerance)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        query = {name: value for name, value in request.query.items()}
        reply = webhook.reply(request.method, query, dict(request.headers), body)
        if reply.event is not None:
            result = on_event(reply.event)
            if inspect.isawaitable(result):
                await result
        return web.Response(
            body=reply.body.encode(),
            status=reply.status,
            content_type="text/plain",
            charset="utf-8",
        )

    return receive
