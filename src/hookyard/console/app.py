"""The console as routes and static files for the composition root to mount at `/console`."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from hookyard.console import alerts, auth, headers, operator, portal, web
from hookyard.console.context import ConsoleContext


def install(app: FastAPI, context: ConsoleContext) -> None:
    """Serve the console on `app` under `/console`, its static files under `/console/static`,
    every response with the console's security headers."""
    app.state.console = context
    app.add_middleware(
        headers.ConsoleHeaders,
        prefix=web.PREFIX,
        frame_ancestors=context.settings.console_frame_ancestors,
    )
    static = resources.files("hookyard.console").joinpath("static")
    app.mount(f"{web.PREFIX}/static", StaticFiles(directory=str(static)), name="console-static")
    for module in (auth, portal, operator, alerts):
        app.include_router(module.router, prefix=web.PREFIX)
