"""The framework adapters: each answers the challenge, verifies POSTs and calls the handler."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import flask
import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI, Request
from starlette.applications import Starlette

from hookyard import receiver, signing
from hookyard.receiver import aiohttp as aiohttp_adapter
from hookyard.receiver import flask as flask_adapter
from hookyard.receiver import starlette as starlette_adapter

SECRET = signing.generate_secret()
PAYLOAD = {"companyId": "c-1", "eventType": "CostCodeCreated", "jobId": "j-1", "costCodeId": "cc"}
CHALLENGE = "a" * 20 + "-_B" * 10


def signed(payload: dict[str, Any] = PAYLOAD, secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    headers = signing.headers([secret], "msg_1", int(time.time()), body)
    return headers | {"content-type": "application/json"}, body


def asgi_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


async def test_starlette_endpoint() -> None:
    seen: list[receiver.Event] = []
    app = Starlette()
    app.add_route("/hook", starlette_adapter.endpoint(SECRET, seen.append), methods=["GET", "POST"])
    client = asgi_client(app)
    challenge = await client.get("/hook", params={"challenge": CHALLENGE})
    assert (challenge.status_code, challenge.text) == (200, CHALLENGE)
    assert challenge.headers["content-type"].startswith("text/plain")
    assert (await client.get("/hook")).status_code == 400
    headers, body = signed()
    forged_headers, _ = signed(secret=signing.generate_secret())
    assert (await client.post("/hook", content=body, headers=forged_headers)).status_code == 401
    assert seen == []
    assert (await client.post("/hook", content=body, headers=headers)).status_code == 200
    assert [(type(e), e.webhook_id) for e in seen] == [(receiver.HeavyJobEvent, "msg_1")]


async def test_an_async_handler_is_awaited_and_its_failure_is_a_500() -> None:
    seen: list[str] = []

    async def handle(event: receiver.Event) -> None:
        seen.append(event.event_type)
        if len(seen) > 1:
            raise RuntimeError("the database is down")

    app = Starlette()
    app.add_route("/hook", starlette_adapter.endpoint(SECRET, handle), methods=["POST"])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="http://app")
    headers, body = signed()
    assert (await client.post("/hook", content=body, headers=headers)).status_code == 200
    assert (await client.post("/hook", content=body, headers=headers)).status_code == 500
    assert seen == ["CostCodeCreated", "CostCodeCreated"]


async def test_fastapi_route_with_read_event() -> None:
    app = FastAPI()
    webhook = receiver.Webhook(SECRET)

    @app.post("/hook")
    async def hook(request: Request) -> dict[str, str]:
        event = await starlette_adapter.read_event(request, webhook)
        return {"type": event.event_type}

    client = asgi_client(app)
    headers, body = signed()
    accepted = await client.post("/hook", content=body, headers=headers)
    assert accepted.json() == {"type": "CostCodeCreated"}
    refused = await client.post("/hook", content=body + b" ", headers=headers)
    assert refused.status_code == 401
    assert "no signature" in refused.json()["detail"]
    junk = signing.headers([SECRET], "m", int(time.time()), b"junk")
    assert (await client.post("/hook", content=b"junk", headers=junk)).status_code == 400


def test_flask_view() -> None:
    seen: list[receiver.Event] = []
    app = flask.Flask(__name__)
    app.add_url_rule(
        "/hook", view_func=flask_adapter.view(SECRET, seen.append), methods=["GET", "POST"]
    )
    client = app.test_client()
    challenge = client.get("/hook", query_string={"challenge": CHALLENGE})
    assert (challenge.status_code, challenge.get_data(as_text=True)) == (200, CHALLENGE)
    assert challenge.content_type.startswith("text/plain")
    headers, body = signed()
    stale = headers | {"webhook-timestamp": str(int(time.time()) - 3600)}
    refused = client.post("/hook", data=body, headers=stale)
    assert refused.status_code == 401
    assert "old" in refused.get_data(as_text=True)
    assert client.post("/hook", data=body, headers=headers).status_code == 200
    assert [e.event_type for e in seen] == ["CostCodeCreated"]


async def test_aiohttp_handler_over_loopback() -> None:
    seen: list[receiver.Event] = []
    app = web.Application()
    app.router.add_route("*", "/hook", aiohttp_adapter.handler(SECRET, seen.append))
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/hook"
        async with aiohttp.ClientSession() as session:
            async with session.get(url, params={"challenge": CHALLENGE}) as response:
                assert (response.status, await response.text()) == (200, CHALLENGE)
                assert response.content_type == "text/plain"
            headers, body = signed()
            async with session.post(url, data=body + b"x", headers=headers) as response:
                assert response.status == 401
            async with session.post(url, data=body, headers=headers) as response:
                assert response.status == 200
    finally:
        await runner.cleanup()
    assert [type(e) for e in seen] == [receiver.HeavyJobEvent]


def test_an_adapter_refuses_a_bad_secret_at_once() -> None:
    for build in (starlette_adapter.endpoint, flask_adapter.view, aiohttp_adapter.handler):
        with pytest.raises(receiver.InvalidSecret):
            build("not base64!", print)
