"""Starlette and FastAPI adapter (imports Starlette; FastAPI requests are Starlette requests).

    app.add_route("/webhooks", endpoint(SECRET, handle), methods=["GET", "POST"])

or, inside a FastAPI route of your own, `event = await read_event(request, Webhook(SECRET))`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from hookyard import errors
from hookyard.receiver import events, verification
from hookyard.receiver.webhook import Webhook

Handler = Callable[[events.Event], object]


def endpoint(
    secret_key: str | Sequence[str],
    on_event: Handler,
    *,
    tolerance: int = verification.DEFAULT_TOLERANCE,
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint answering the challenge GET and calling `on_event` (sync or async) per
    verified POST. An exception in `on_event` becomes a 500, so Hookyard retries the delivery."""
    webhook = Webhook(secret_key, tolerance=tolerance)

    async def receive(request: Request) -> Response:
        body = await request.body()
        reply = webhook.reply(request.method, request.url.query, dict(request.headers), body)
        if reply.event is not None:
            result = on_event(reply.event)
            if inspect.isawaitable(result):
                await result
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)

    return receive


async def read_event(request: Request, webhook: Webhook) -> events.Event:
    """The verified event of a POST, or HTTPException 401 (not verified) / 400 (not JSON)."""
    try:
        return webhook.verify(dict(request.headers), await request.body())
    except errors.WebhookVerificationFailed as exc:
        raise HTTPException(401, exc.detail) from exc
    except errors.InvalidInput as exc:
        raise HTTPException(400, exc.detail) from exc
