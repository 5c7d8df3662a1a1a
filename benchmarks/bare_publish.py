"""The publish-CPU baseline: the least an HTTP server in Python can do for a publish.

    python -m benchmarks.bare_publish --port 8123

uvicorn on uvloop and httptools, configured as `hookyard serve` configures it (no access log, no
server header, proxy headers on), serving a bare ASGI function that reads the body, parses it
with orjson, and answers 202 with an event id. No Hookyard code: its CPU per request is the floor
under any publish, and `benchmarks.publish_cpu` prints Hookyard's cost beside it.
"""

from __future__ import annotations

import argparse
import uuid
from typing import Any

import orjson
import uvicorn

HEADERS = [(b"content-type", b"application/json")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    if body:
        orjson.loads(body)
    answer = orjson.dumps({"eventId": str(uuid.uuid4())})
    headers = [(b"content-length", str(len(answer)).encode()), *HEADERS]
    await send({"type": "http.response.start", "status": 202, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
