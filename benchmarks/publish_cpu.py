"""CPU of one single-event publish, `POST /events/api/v1/precon`: the server's CPU over
sequential publishes on one keep-alive connection.

    python -m benchmarks.publish_cpu --dialect sqlite --publishes 2000
    python -m benchmarks.publish_cpu --dialect postgres --publishes 2000
    python -m benchmarks.publish_cpu --dialect sqlite --in-process

Three figures, from the same run:

- **hookyard api**: a `hookyard api` process (the API of `hookyard serve`, without its worker, so
  delivering adds nothing) over a fresh database holding a company, a business unit, a client
  with `events:publish` (made by the CLI, as `make bench` does) and one matching record: its CPU
  (user + system, all threads, `/proc`) per publish, through HTTP from a client in this process.
- **bare**: the same client against `benchmarks.bare_publish`, uvicorn configured the same way
  serving an ASGI function that parses the body and answers 202: the floor of any publish.
- with `--in-process`: the ASGI app called directly in this process (no HTTP server), the figure
  this benchmark printed before it measured through HTTP.

Publishes go one after another, so the figure is CPU per request without queueing. 200 publishes
warm up first and are not counted; the first counted ones run against a database created seconds
before, so fresh and warm are both in the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert

from benchmarks import databases, payloads, procs
from benchmarks.hookyard_side import Deployment, provision
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


def _post_all(port: int, headers: dict[str, str], bodies: Sequence[bytes]) -> None:
    """POST `bodies` one after another on one keep-alive connection; each must be a 202."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for body in bodies:
            connection.request("POST", PATH, body, headers)
            response = connection.getresponse()
            answer = response.read()
            if response.status != 202:
                raise RuntimeError(f"publish answered {response.status}: {answer[:300]!r}")
    finally:
        connection.close()


def _cpu_per_request(pid: int, port: int, headers: dict[str, str], bodies: list[bytes]) -> float:
    """Microseconds of `pid`'s CPU per request over `bodies` after the warm-up."""
    _post_all(port, headers, bodies[:WARM_UP])
    meter = procs.CpuMeter([pid]).start()
    _post_all(port, headers, bodies[WARM_UP:])
    return meter.stop() / (len(bodies) - WARM_UP) * 1e6


def over_http(url: str, scratch: Path, publishes: int) -> dict[str, float]:
    """A `hookyard api` process's CPU per publish (see the module docstring)."""
    with Deployment.start(url, scratch, command="api") as deployment:
        provision(deployment, ["http://127.0.0.1:9/hook"], 1)
        assert deployment.api is not None
        assert deployment.tenant is not None
        tenant = deployment.tenant
        bodies = [
            orjson.dumps(payloads.event_fields(i, tenant.company_id, tenant.business_unit_id))
            for i in range(publishes + WARM_UP)
        ]
        headers = {
            "Authorization": f"Bearer {deployment.token}",
            "Content-Type": "application/json",
        }
        cpu = _cpu_per_request(deployment.api.pid, deployment.port, headers, bodies)
    return {"publishes": publishes, "cpu_us_per_publish": round(cpu)}


def bare(scratch: Path, publishes: int) -> dict[str, float]:
    """The baseline server's CPU per request (`benchmarks.bare_publish`)."""
    port = procs.free_port()
    command = [sys.executable, "-m", "benchmarks.bare_publish", "--port", str(port)]
    server = procs.Child(command, {}, scratch / "bare.log")
    try:

        def up() -> bool:
            if not server.alive():
                raise RuntimeError(f"the bare server exited:\n{server.tail()}")
            try:
                _post_all(port, {"Content-Type": "application/json"}, [b"{}"])
            except OSError:
                return False
            return True

        procs.wait_until(up, 30, f"the bare server on port {port}", step=0.1)
        bodies = [orjson.dumps({"projectId": f"p-{i}"}) for i in range(publishes + WARM_UP)]
        cpu = _cpu_per_request(server.pid, port, {"Content-Type": "application/json"}, bodies)
    finally:
        server.stop()
    return {"publishes": publishes, "cpu_us_per_publish": round(cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=databases.DIALECTS, default="sqlite")
    parser.add_argument("--publishes", type=int, default=2000)
    parser.add_argument(
        "--in-process", action="store_true", help="also call the ASGI app in this process"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="publish-cpu-") as scratch:
        place = Path(scratch)
        figures: dict[str, Any] = {"dialect": args.dialect}
        figures["bare"] = bare(place, args.publishes)
        with databases.fresh(args.dialect, place) as url:
            figures["hookyard_api"] = over_http(url, place / "http", args.publishes)
        if args.in_process:
            with databases.fresh(args.dialect, place) as url:
                figures["in_process"] = asyncio.run(
                    measure(url, place / "data", args.publishes + WARM_UP)
                )
        databases.finish_drops()
    mine, floor = (
        figures["hookyard_api"]["cpu_us_per_publish"],
        figures["bare"]["cpu_us_per_publish"],
    )
    figures["ratio_to_bare"] = round(mine / floor, 2) if floor else None
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
