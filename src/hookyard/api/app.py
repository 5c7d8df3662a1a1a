"""The FastAPI application: routes, error handlers and limits, over an `AppContext`."""

from __future__ import annotations

from fastapi import FastAPI

from hookyard import __version__
from hookyard.api import health, limits, metrics, openapi, pages, problems
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


def create_app(context: AppContext) -> FastAPI:
    """The HTTP API over `context`."""
    app = FastAPI(
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
    return app
