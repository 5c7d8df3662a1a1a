"""The FastAPI application: routes, error handlers and limits, over an `AppContext`."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from hookyard import __version__
from hookyard.api import health, lean, limits, metrics, openapi, pages, problems
from hookyard.api.context import AppContext
from hookyard.api.routes import (
    alerts,
    business_units,
    deliveries,
    events,
    identity,
    subscriptions,
    webhooks,
)

DESCRIPTION = (
    "Hookyard speaks the HCSS Webhooks API: tokens, business units, webhook subscriptions "
    "verified by challenge, and signed deliveries with retries."
)


class HookyardApp(FastAPI):
    """The FastAPI app, with publishes answered first by the lean path (`api.lean`)."""

    lean_path: lean.LeanPublish | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        publish = lean.route(scope) if self.lean_path is not None else None
        if publish is None or self.lean_path is None:
            await super().__call__(scope, receive, send)
            return
        await self.lean_path(scope, receive, send, *publish)

    async def routed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The request through FastAPI's routes and middleware, never the lean path."""
        await super().__call__(scope, receive, send)


def create_app(context: AppContext, *, lean_publish: bool = True) -> FastAPI:
    """The HTTP API over `context`; `lean_publish=False` leaves publishes to the routes too."""
    app = HookyardApp(
        title="Hookyard",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context
    problems.install(app)
    app.add_middleware(
        limits.RequestLimits,
        max_body_bytes=context.settings.max_body_bytes,
        max_header_bytes=context.settings.max_header_bytes,
        max_json_depth=context.settings.max_json_depth,
    )
    # Events first: routes are tried in order, and a product back end's publishes are most of
    # the requests. No other route starts with /events, so no match changes.
    app.include_router(events.router)
    app.include_router(identity.router)
    app.include_router(business_units.router)
    app.include_router(webhooks.router(context.catalog))
    app.include_router(deliveries.router)
    app.include_router(subscriptions.router)
    app.include_router(alerts.router)

    app.include_router(health.router)
    app.include_router(metrics.router)

    openapi.install(app)
    pages.install(app)
    if lean_publish:
        app.lean_path = lean.LeanPublish(context, app.routed)
    return app
