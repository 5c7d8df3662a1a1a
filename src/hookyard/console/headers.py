"""The headers every console response carries: its pages, redirects, error and sign-in pages and
its static files alike, so no path under `/console` is left out by forgetting it.

- `Content-Security-Policy`: scripts, styles and everything else from the console's own origin
  only (no inline script or style, no `javascript:` url), forms posted to it only, no `<base>`,
  no plugins, and framed only by `HOOKYARD_CONSOLE_FRAME_ANCESTORS` (`'none'` by default).
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`.
- `Cache-Control: no-store`: a page showing a secret key once is never kept by a cache.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def policy(frame_ancestors: str) -> str:
    """The Content-Security-Policy of the console's responses."""
    return (
        "default-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; "
        f"frame-ancestors {frame_ancestors}"
    )


def headers(frame_ancestors: str) -> dict[str, str]:
    """Every header the console's responses carry."""
    return {
        "Content-Security-Policy": policy(frame_ancestors),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


class ConsoleHeaders:
    """ASGI middleware: `headers` set on every response to a path under `prefix`."""

    def __init__(self, app: ASGIApp, *, prefix: str, frame_ancestors: str) -> None:
        self.app = app
        self.prefix = prefix
        self.headers = headers(frame_ancestors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._covers(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                found = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    found[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _covers(self, path: str) -> bool:
        return path == self.prefix or path.startswith(f"{self.prefix}/")
