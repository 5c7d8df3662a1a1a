"""CPU of one single-event publish: `POST /events/api/v1/precon` through the real ASGI app, in
this process, with no HTTP server, worker or receiver around it.

    python -m benchmarks.publish_cpu --dialect sqlite --publishes 2000
    python -m benchmarks.publish_cpu --dialect postgres --publishes 2000

The app is `hookyard.cli.runtime.build` over a fresh database (a company, a business unit, a
client with `events:publish`, one matching record) and a client-credentials token. Publishes go
one after another, so the figure is CPU per request (all threads of this process: the driver
threads too) without queueing; scenario 2 (`--only latency`) is what a server does with them at
200/s. 200 publishes warm up first and are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert

from benchmarks import databases
from hookyard import clock, ids, models
from hookyard.cli import runtime
from hookyard.config import Settings
from hookyard.store import migrate, schema

WARM_UP = 200
PATH = "/events/api/v1/precon"


async def _provision(rt: runtime.Runtime) -> tuple[str, str, str]:
    """The company, the business unit and a publishing token."""
    company = await rt.credentials.create_company("Publish CPU")
    unit = await rt.credentials.create_business_unit(company.id, "BENCH")
    issued = await rt.credentials.create_client(
        company_id=company.id, scopes=["precon:read", "events:publish"]
    )
    now = clock.utcnow()
    async with rt.store.db.write() as connection:
        await connection.execute(
            insert(schema.subscriptions).values(
                id=ids.guid(),
                product="precon",
                company_id=company.id,
                client_id=issued.client.id,
                partition_value=unit.id,
                filter_value="",
                event_type="ProjectChanged",
                callback_url="http://127.0.0.1:9/hook",
                secret_key="whsec_" + "A" * 32,
                status=models.SubscriptionStatus.ACTIVE.value,
                date_created=now,
                status_changed_at=now,
            )
        )
    form = {"grant_type": "client_credentials", "client_id": issued.client.id}
    granted = await rt.identity.grant({**form, "client_secret": issued.secret})
    return company.id, unit.id, granted.access_token


def _scope(token: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _publish(app: Any, token: str, body: bytes) -> int:
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(token, body), receive, send)
    return status


async def measure(url: str, data_dir: Path, publishes: int) -> dict[str, float]:
    settings = Settings(data_dir=data_dir, database_url=url, allow_private_callbacks=True)
    await asyncio.to_thread(migrate.upgrade_sync, settings.database_url)
    rt = runtime.build(settings)
    try:
        company, unit, token = await _provision(rt)
        app = rt.app()
        fields = {"eventType": "ProjectChanged", "companyId": company, "businessUnitId": unit}
        bodies = [orjson.dumps({**fields, "projectId": f"p-{i}"}) for i in range(publishes)]
        for body in bodies[:WARM_UP]:
            assert await _publish(app, token, body) == 202
        cpu, wall = time.process_time(), time.perf_counter()
        for body in bodies[WARM_UP:]:
            assert await _publish(app, token, body) == 202
        counted = publishes - WARM_UP
        return {
            "publishes": counted,
            "cpu_us_per_publish": round((time.process_time() - cpu) / counted * 1e6),
            "wall_us_per_publish": round((time.perf_counter() - wall) / counted * 1e6),
        }
    finally:
        await rt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=databases.DIALECTS, default="sqlite")
    parser.add_argument("--publishes", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="publish-cpu-") as scratch:
        with databases.fresh(args.dialect, Path(scratch)) as url:
            figures = asyncio.run(measure(url, Path(scratch) / "data", args.publishes + WARM_UP))
        databases.finish_drops()
    print(json.dumps({"dialect": args.dialect, **figures}))


if __name__ == "__main__":
    main()
