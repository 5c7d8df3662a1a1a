"""Pages for people: `GET /` (where to go next), `/docs` and `/redoc` with their assets served
from the package (no CDN, so they work offline), and `/walkthrough`. None of them names a path
on the server."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from hookyard import __version__, walkthrough
from hookyard.api.context import context
from hookyard.config import DEFAULT_DATA_DIR

STATIC = Path(__file__).parent / "static"
STATIC_PATH = "/assets"
CONSOLE_PATH = "/console"

router = APIRouter(include_in_schema=False)


def _has_console(app: FastAPI) -> bool:
    return any(getattr(route, "path", "").startswith(CONSOLE_PATH) for route in app.router.routes)


def _links(app: FastAPI) -> list[tuple[str, str, str]]:
    links = [
        ("/docs", "API reference", "try every operation in Swagger UI"),
        ("/redoc", "API reference (ReDoc)", "the same document, for reading"),
        ("/walkthrough", "Walk-through", "token, subscribe, publish, receive: commands to paste"),
        ("/openapi.json", "openapi.json", "the OpenAPI document"),
    ]
    if _has_console(app):
        links.insert(0, (CONSOLE_PATH, "Console", "companies, clients, subscriptions, deliveries"))
    return links


def home_page(app: FastAPI) -> str:
    """The short HTML page `GET /` answers."""
    items = "\n".join(
        f'    <li><a href="{href}">{html.escape(title)}</a>: {html.escape(what)}</li>'
        for href, title, what in _links(app)
    )
    return (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>Hookyard {__version__}</title></head>\n<body>\n"
        f"  <h1>Hookyard {__version__}</h1>\n"
        "  <p>A self-hosted webhook platform that speaks the HCSS Webhooks API.</p>\n"
        f"  <ul>\n{items}\n  </ul>\n</body>\n</html>\n"
    )


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    return HTMLResponse(home_page(request.app))


def demo_file(data_dir: Path) -> str:
    """Where the walk-through's reader finds the demo client, without naming a directory of the
    server to anyone who asks: the README's `.hookyard/demo.json` for the default data
    directory, else the data directory's variable, which the shell beside the server expands."""
    if data_dir == DEFAULT_DATA_DIR:
        return walkthrough.README_DEMO_FILE
    return "$HOOKYARD_DATA_DIR/demo.json"


@router.get("/walkthrough")
async def walkthrough_text(request: Request) -> PlainTextResponse:
    settings = context(request).settings
    text = walkthrough.render(
        base_url=settings.public_base_url,
        demo_file=demo_file(settings.data_dir),
        program="hookyard",
    )
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    return get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} API",
        swagger_js_url=f"{STATIC_PATH}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC_PATH}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{STATIC_PATH}/swagger-ui/favicon-32x32.png",
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    app = request.app
    return get_redoc_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} API",
        redoc_js_url=f"{STATIC_PATH}/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{STATIC_PATH}/swagger-ui/favicon-32x32.png",
        with_google_fonts=False,
    )


def install(app: FastAPI) -> None:
    """Add the pages and the static assets to `app` (made with docs_url=None, redoc_url=None)."""
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="static")
