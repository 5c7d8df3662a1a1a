"""Hookyard driven as a user drives it: processes started from the CLI, events over HTTP.

`Deployment.start` runs `hookyard serve` (API and worker in one process) or `hookyard api` plus N
`hookyard worker` processes on a free port, with HOOKYARD_DATA_DIR / HOOKYARD_DATABASE_URL
pointing at a fresh database. `provision` makes the tenant through the CLI
(`companies create`, `business-units create`, `clients create`), then the subscription records
with `add_records` (the one function to swap when the setup method changes), and gets a token.
`publish` POSTs events to `/events/api/v1/precon` (or its batch form) and keeps their publish times.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import requests
from sqlalchemy import insert

from benchmarks import payloads, procs
from benchmarks.receiver import ReceiverProcess
from hookyard import clock, ids, models
from hookyard.store import Store, schema

HOOKYARD = os.environ.get("BENCH_HOOKYARD", str(Path(sys.executable).with_name("hookyard")))
PUBLISH = os.environ.get("BENCH_PUBLISH", "http")
RECORD_CHUNK = 1000


@dataclass(frozen=True)
class Tenant:
    company_id: str
    business_unit_id: str
    client_id: str
    client_secret: str


@dataclass
class Deployment:
    """A running Hookyard: its processes, URL, database and environment."""

    database_url: str
    scratch: Path
    env: dict[str, str]
    port: int
    api: procs.Child | None
    workers: list[procs.Child] = field(default_factory=list)
    tenant: Tenant | None = None
    token: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def worker_pids(self) -> list[int]:
        """The processes that deliver (the serve process in single-process mode)."""
        pids = [w.pid for w in self.workers]
        return pids if pids or self.api is None else [self.api.pid]

    @property
    def children(self) -> list[procs.Child]:
        return [child for child in (self.api, *self.workers) if child is not None]

    @classmethod
    def start(
        cls,
        database_url: str,
        scratch: Path,
        *,
        split: bool = False,
        workers: int = 0,
        extra: dict[str, str] | None = None,
        command: str = "serve",
        arguments: Sequence[str] = (),
    ) -> Deployment:
        """One `hookyard serve` (API and worker; `command="api"`: the API only), or (`split`)
        `workers` `hookyard worker` processes and no API: events then go in through the
        in-process publish path."""
        scratch.mkdir(parents=True, exist_ok=True)
        port = procs.free_port()
        env = environment(database_url, scratch, port, extra or {})
        tenant = make_tenant(env)
        api = (
            None
            if split
            else procs.Child(
                [*_serve_command(port, command), *arguments], env, scratch / f"{command}.log"
            )
        )
        deployment = cls(database_url, scratch, env, port, api, tenant=tenant)
        try:
            if api is not None:
                deployment.wait_up()
            for _ in range(workers):
                deployment.add_worker()
        except BaseException:
            deployment.stop()
            raise
        return deployment

    def add_worker(self) -> procs.Child:
        log = self.scratch / f"worker-{len(self.workers)}.log"
        worker = procs.Child([HOOKYARD, "worker"], self.env, log)
        self.workers.append(worker)
        return worker

    def wait_up(self, timeout: float = 60.0) -> None:
        self.wait_up_at("/openapi.json", timeout)

    def wait_up_at(self, path: str, timeout: float = 60.0) -> None:
        """Until the API process answers a GET of `path` (any answer but a refused connection)."""
        api = self.api
        assert api is not None

        def up() -> bool:
            if not api.alive():
                raise RuntimeError(f"the API process exited at start:\n{api.tail()}")
            try:
                return requests.get(f"{self.base_url}{path}", timeout=2).status_code < 500
            except requests.RequestException:
                return False

        procs.wait_until(up, timeout, f"an answer on port {self.port}", step=0.1)

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()

    def check_alive(self) -> None:
        for child in self.children:
            if not child.alive():
                raise RuntimeError(f"a hookyard process exited:\n{child.tail()}")

    def wait_delivered(
        self, receiver: ReceiverProcess, count: int, timeout: float
    ) -> dict[str, Any]:
        """Receiver stats once `count` deliveries arrived or at the deadline; fails fast if a
        Hookyard process died."""
        deadline = time.monotonic() + timeout
        while True:
            stats = receiver.wait_distinct(count, min(2.0, max(0.0, deadline - time.monotonic())))
            if stats["healthy_distinct"] >= count or time.monotonic() >= deadline:
                return stats
            self.check_alive()

    def wait_blackholed(self, receiver: ReceiverProcess, tries: int, timeout: float) -> None:
        """Until the receiver's blackholed ports hold `tries` requests (tries hanging there)."""
        dead = {str(port) for port in receiver.blackhole}

        def hanging() -> bool:
            self.check_alive()
            per_port: dict[str, int] = receiver.stats()["per_port"]
            return sum(n for port, n in per_port.items() if port in dead) >= tries

        procs.wait_until(hanging, timeout, f"{tries} tries hanging at the blackhole", step=0.1)

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def environment(
    database_url: str, scratch: Path, port: int, extra: dict[str, str]
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKYARD_")}
    env.update(
        HOOKYARD_DATA_DIR=str(scratch / "data"),
        HOOKYARD_DATABASE_URL=database_url,
        HOOKYARD_ALLOW_PRIVATE_CALLBACKS="true",
        HOOKYARD_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        HOOKYARD_SHUTDOWN_GRACE_SECONDS="1",
    )
    env.update(extra)
    return env


def _serve_command(port: int, command: str = "serve") -> list[str]:
    return [HOOKYARD, command, "--host", "127.0.0.1", "--port", str(port)]


def make_tenant(env: dict[str, str]) -> Tenant:
    """A company, a business unit and a client with `precon:read events:publish`, made by the
    CLI commands (`benchmarks.tenant_cli`, which also migrates the database)."""
    python = str(Path(HOOKYARD).with_name("python"))
    command = [python, "-m", "benchmarks.tenant_cli", f"Bench {ids.ulid()}"]
    result = subprocess.run(
        command, env=env, cwd=procs.ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"making the tenant failed:\n{result.stdout}{result.stderr}")
    made = json.loads(result.stdout.strip().splitlines()[-1])
    return Tenant(
        made["company_id"], made["business_unit_id"], made["client_id"], made["client_secret"]
    )


async def _insert_records(
    database_url: str,
    tenant: Tenant,
    urls: Sequence[str],
    count: int,
    event_type: str = payloads.EVENT_TYPE,
) -> None:
    store = Store(database_url)
    now = clock.utcnow()
    rows = [
        {
            "id": ids.guid(),
            "product": payloads.PRODUCT,
            "company_id": tenant.company_id,
            "client_id": tenant.client_id,
            "partition_value": tenant.business_unit_id,
            "filter_value": "",
            "event_type": event_type,
            "callback_url": f"{urls[i % len(urls)]}/{i}",
            "secret_key": payloads.SECRET,
            "status": models.SubscriptionStatus.ACTIVE.value,
            "date_created": now,
            "status_changed_at": now,
        }
        for i in range(count)
    ]
    try:
        for start in range(0, len(rows), RECORD_CHUNK):
            async with store.db.write() as connection:
                await connection.execute(
                    insert(schema.subscriptions), rows[start : start + RECORD_CHUNK]
                )
    finally:
        await store.close()


def add_records(
    deployment: Deployment,
    urls: Sequence[str],
    count: int,
    event_type: str = payloads.EVENT_TYPE,
) -> None:
    """`count` Active Pre-Construction records of `event_type` spread over `urls` (one path
    each).

    Inserted straight through `hookyard.store`: creating thousands of records through the
    subscriptions API would spend the run on challenges, which is not what is measured.
    """
    assert deployment.tenant is not None
    asyncio.run(
        _insert_records(deployment.database_url, deployment.tenant, urls, count, event_type)
    )


def fetch_token(deployment: Deployment) -> str:
    assert deployment.tenant is not None
    form = {
        "grant_type": "client_credentials",
        "client_id": deployment.tenant.client_id,
        "client_secret": deployment.tenant.client_secret,
        "scope": "events:publish",
    }
    response = requests.post(f"{deployment.base_url}/identity/connect/token", data=form, timeout=30)
    if response.status_code != 200:
        raise RuntimeError(f"the token endpoint answered {response.status_code}: {response.text}")
    token: str = response.json()["access_token"]
    return token


def provision(deployment: Deployment, urls: Sequence[str], records: int) -> None:
    """`records` subscription records over `urls` for the tenant, and a publishing token."""
    add_records(deployment, urls, records)
    if deployment.api is not None:
        deployment.token = fetch_token(deployment)


def event(
    deployment: Deployment, seq: int, event_type: str = payloads.EVENT_TYPE
) -> dict[str, str]:
    assert deployment.tenant is not None
    fields = payloads.event_fields(
        seq, deployment.tenant.company_id, deployment.tenant.business_unit_id
    )
    return {**fields, "eventType": event_type}


class Publisher:
    """POSTs events to a deployment and remembers when each was sent (wall clock).

    A deployment without an API process (or BENCH_PUBLISH=python) gets its events through
    `EventService` in this process instead: the in-process publish path.
    """

    def __init__(self, deployment: Deployment, event_type: str = payloads.EVENT_TYPE) -> None:
        self.deployment = deployment
        self.event_type = event_type
        self.published: dict[int, float] = {}
        self.accepted_at: dict[int, float] = {}
        self._url = f"{deployment.base_url}/events/api/v1/{payloads.PRODUCT}"
        self._headers = {"Authorization": f"Bearer {deployment.token}"}
        self._service: Any = None
        self._store: Store | None = None

    async def _post(self, session: aiohttp.ClientSession, url: str, body: object) -> object:
        if PUBLISH == "python" or self.deployment.api is None:
            return await self._in_process(body)
        return await self._over_http(session, url, body)

    async def _in_process(self, body: object) -> object:
        from hookyard import catalog
        from hookyard.services.events import EventService

        if self._service is None:
            self._store = Store(self.deployment.database_url)
            base = self.deployment.base_url
            self._service = EventService(self._store, catalog.load(), public_base_url=base)
        assert self.deployment.tenant is not None
        publisher_id = self.deployment.tenant.client_id
        if isinstance(body, list):
            return await self._service.publish_many(
                payloads.PRODUCT, body, publisher_id=publisher_id
            )
        return await self._service.publish(payloads.PRODUCT, body, publisher_id=publisher_id)

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
        self._service = self._store = None

    async def _over_http(self, session: aiohttp.ClientSession, url: str, body: object) -> object:
        for attempt in range(5):
            async with session.post(url, json=body, headers=self._headers) as response:
                text = await response.text()
                if response.status == 202:
                    return json.loads(text)
                if response.status < 500 or attempt == 4:
                    raise RuntimeError(f"publish answered {response.status}: {text[:500]}")
            await asyncio.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable")

    async def batches(self, seqs: Sequence[int], size: int, concurrency: int = 2) -> None:
        """All `seqs` in batches of `size`, `concurrency` requests at a time."""
        chunks = [list(seqs[i : i + size]) for i in range(0, len(seqs), size)]
        slots = asyncio.Semaphore(concurrency)
        timeout = aiohttp.ClientTimeout(total=300)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def one(chunk: list[int]) -> None:
                async with slots:
                    body = [event(self.deployment, seq, self.event_type) for seq in chunk]
                    sent = time.time()
                    for seq in chunk:
                        self.published[seq] = sent
                    await self._post(session, f"{self._url}/batch", body)
                    done = time.time()
                    for seq in chunk:
                        self.accepted_at[seq] = done

            try:
                await asyncio.gather(*(one(chunk) for chunk in chunks))
            finally:
                await self.close()

    async def steady(self, count: int, rate: float, first: int = 0) -> None:
        """`count` single-event publishes at `rate` per second, each in its own request, open
        loop: event i is due at start + i / rate, and its times (202, receipt) count from then,
        so a slow 202 or a publisher that falls behind cannot hide a backlog."""
        timeout = aiohttp.ClientTimeout(total=60)
        connector = aiohttp.TCPConnector(limit=0)
        # No collector pauses in the load generator: a full collection over tens of thousands
        # of tasks stalls it for hundreds of milliseconds, and open loop counts that against
        # the server. (Its lag is printed beside Hookyard's: `latency.publisher_lag`.)
        gc.disable()
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            start, wall = time.monotonic(), time.time()
            tasks = []
            for i in range(count):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.published[first + i] = wall + i / rate
                tasks.append(asyncio.create_task(self._one(session, first + i)))
            try:
                await asyncio.gather(*tasks)
            finally:
                gc.enable()
                await self.close()

    async def _one(self, session: aiohttp.ClientSession, seq: int) -> None:
        await self._post(session, self._url, event(self.deployment, seq))
        self.accepted_at[seq] = time.time()
