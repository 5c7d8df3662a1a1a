"""The console as routes and static files for the composition root to mount at `/console`."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from hookyard.console import alerts, auth, operator, portal, web
from hookyard.console.context import ConsoleContext


def install(app: FastAPI, context: ConsoleContext) -> None:
    """Serve the console on `app` under `/console`, its static files under `/console/static`."""
    app.state.console = context
    static = resources.files("hookyard.console").joinpath("static")
    app.mount(f"{web.PREFIX}/static", StaticFiles(directory=str(static)), name="console-static")
    for module in (auth, portal, operator, alerts):
        app.include_router(module.router, prefix=web.PREFIX)
