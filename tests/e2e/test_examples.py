"""Each example receiver, run as its own process on 127.0.0.1, answers a real challenge, accepts a
signed event once (a retry with the same webhook-id is not processed again) and refuses a forged
one with 401."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hookyard import signing
from tests.support import processes

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = signing.generate_secret()
CHALLENGE = "k9_-" * 10
PAYLOADS: dict[str, dict[str, Any]] = {
    "fastapi": {
        "eventSource": "HeavyBid Pre-Construction",
        "eventType": "ProjectCreated",
        "entityUrl": "http://127.0.0.1/precon/api/v1/businessUnits/bu-3/Projects/p-9",
        "version": "1",
        "date": "2026-11-29T05:00:00Z",
        "data": {"companyId": "c-1", "businessUnitId": "bu-3", "projectId": "p-9"},
    },
    "flask": {
        "companyId": "c-1",
        "eventType": "CostCodeDeleted",
        "jobId": "j-5",
        "costCodeId": "k",
    },
}
SHOWN = {"fastapi": "ProjectCreated project=p-9 bu=bu-3", "flask": "CostCodeDeleted job=j-5"}


def command(example: str, port: int) -> list[str]:
    if example == "fastapi":
        app = ["--app-dir", str(EXAMPLES), "fastapi_receiver:app"]
        return [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, str(EXAMPLES / "flask_receiver.py")]


def test_each_example_is_under_40_lines() -> None:
    for path in (EXAMPLES / "fastapi_receiver.py", EXAMPLES / "flask_receiver.py"):
        assert len(path.read_text().splitlines()) < 40, path


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as client:
        yield client


@pytest.mark.parametrize("example", ["fastapi", "flask"])
async def test_example_receives_webhooks(
    example: str, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}/webhooks"
    env = {"WEBHOOK_SECRET": SECRET, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    with processes.running(command(example, port), tmp_path, env=env) as app:
        await app.wait_until_answering(url + "?challenge=probe")
        async with session.get(url, params={"challenge": CHALLENGE}) as response:
            assert (response.status, await response.text()) == (200, CHALLENGE)
            assert response.content_type == "text/plain"

        body = json.dumps(PAYLOADS[example]).encode()
        headers = signing.headers([SECRET], f"msg_{example}", int(time.time()), body)
        for _ in range(2):  # the second is a retry of the same delivery
            async with session.post(url, data=body, headers=headers) as response:
                assert response.status == 200
        await app.wait_for_output(SHOWN[example])

        forged = signing.headers([signing.generate_secret()], "msg_forged", int(time.time()), body)
        async with session.post(url, data=body, headers=forged) as response:
            assert response.status == 401
            assert "no signature" in await response.text()
        stale = headers | {"webhook-timestamp": str(int(time.time()) - 3600)}
        async with session.post(url, data=body, headers=stale) as response:
            assert response.status == 401

        marker = "msg_after"
        after = signing.headers([SECRET], marker, int(time.time()), body)
        async with session.post(url, data=body, headers=after) as response:
            assert response.status == 200
        await app.wait_for_output(f"processed {PAYLOADS[example]['eventType']} {marker}")
        assert app.output.count(f"msg_{example}") == 1
        assert "msg_forged" not in app.output
        app.stop()
