"""Flask adapter (imports Flask).

app.add_url_rule("/webhooks", view_func=view(SECRET, handle), methods=["GET", "POST"])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flask

from hookyard.receiver import events, verification
from hookyard.receiver.webhook import Webhook

Handler = Callable[[events.Event], object]


def view(
    secret_key: str | Sequence[str],
    on_event: Handler,
    *,
    tolerance: int = verification.DEFAULT_TOLERANCE,
) -> Callable[[], flask.Response]:
    """A view answering the challenge GET and calling `on_event` per verified POST.
    An exception in `on_event` becomes a 500, so Hookyard retries the delivery."""
    webhook = Webhook(secret_key, tolerance=tolerance)

    def receive() -> flask.Response:
        request = flask.request
        headers = {name: value for name, value in request.headers.items()}
        query = {name: value for name, value in request.args.items()}
        reply = webhook.reply(request.method, query, headers, request.get_data())
        if reply.event is not None:
            on_event(reply.event)
        return flask.Response(reply.body, status=reply.status, content_type=reply.content_type)

    return receive
