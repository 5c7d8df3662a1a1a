"""What every reliability scenario shares: a deployment of real `hookyard` processes on a real
database, a publisher that goes through the HTTP API, and the ledger that says, once everything
is at rest, how many deliveries were accepted, delivered, duplicated, held, lost or stuck.

"At rest" means no delivery is `pending` or `in_flight` any more and every accepted delivery was
either answered 2xx by its receiver or is `failed`/`held` in the database. A scenario waits for it
with a deadline (never a sleep) and fails, with the ledger, when the deadline passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from hookyard.cli import runtime as runtimes
from hookyard.config import Settings
from hookyard.store import Store, migrate, schema
from tests.reliability.receivers import Receivers
from tests.support import processes, tenancy
from tests.support.tenants import Tenant, bearer, make_tenant, token

UNSETTLED = ("pending", "in_flight")
PARKED = ("failed", "held")
FAST_ENGINE = {
    "HOOKYARD_ALLOW_PRIVATE_CALLBACKS": "true",
    "HOOKYARD_LEASE_SECONDS": "2",
    "HOOKYARD_POLL_INTERVAL_SECONDS": "0.2",
    "HOOKYARD_RETRY_BASE_SECONDS": "0.05",
    "HOOKYARD_RETRY_FACTOR": "1.5",
    "HOOKYARD_MAX_ATTEMPTS": "12",
    "HOOKYARD_DELIVERY_TIMEOUT_SECONDS": "1",
    "HOOKYARD_SHUTDOWN_GRACE_SECONDS": "3",
    "HOOKYARD_LOG_LEVEL": "WARNING",
}
"""Retries that finish within seconds and leases that expire within seconds, so that recovery
fits in a test; 12 tries, so that a receiver failing a third of requests never Stops a record."""


@dataclass
class Report:
    """One scenario's ledger, as `docs/reliability.md` shows it."""

    scenario: str
    database: str
    published: int = 0
    accepted: int = 0
    delivered: int = 0
    duplicated: int = 0
    held: int = 0
    lost: int = 0
    stuck: int = 0
    recover_seconds: float | None = None
    notes: list[str] = field(default_factory=list)

    def row(self) -> str:
        recover = "-" if self.recover_seconds is None else f"{self.recover_seconds:.1f}"
        cells = [
            self.scenario,
            self.database,
            *(
                str(n)
                for n in (
                    self.published,
                    self.accepted,
                    self.delivered,
                    self.duplicated,
                    self.held,
                    self.lost,
                    self.stuck,
                )
            ),
            recover,
        ]
        return "| " + " | ".join(cells) + " |"


HEADER = (
    "| scenario | database | events published | deliveries accepted | delivered | duplicated"
    " | held | lost | stuck | recovered in (s) |\n|---|---|---|---|---|---|---|---|---|---|"
)

REPORTS: list[Report] = []
"""Every report of this pytest process, printed as a table at the end (conftest.py)."""


@dataclass
class Deployment:
    """A database with a tenant subscribed to the receivers, and the environment that points
    `hookyard` processes at it."""

    url: str
    data_dir: Path
    runtime: runtimes.Runtime
    tenant: Tenant
    unit: str
    env: dict[str, str]

    @property
    def store(self) -> Store:
        return self.runtime.store

    async def subscribe(self, urls: Sequence[str], *, secret: str | None = None) -> list[str]:
        owner = tenancy.Tenant(self.tenant.company.id, self.tenant.client_id)
        return [
            await tenancy.subscribe(
                self.store,
                owner,
                "precon",
                "ProjectCreated",
                url,
                partition=self.unit,
                secret=secret,
            )
            for url in urls
        ]

    def event(self, number: int) -> dict[str, str]:
        return {
            "eventType": "ProjectCreated",
            "companyId": self.tenant.company.id,
            "businessUnitId": self.unit,
            "projectId": f"p-{number}",
        }

    async def deliveries(self) -> dict[str, tuple[str, str]]:
        """Every delivery: id -> (event id, state)."""
        table = schema.deliveries
        statement = select(table.c.id, table.c.event_id, table.c.state)
        async with self.store.db.read() as connection:
            rows = (await connection.execute(statement)).all()
        return {row.id: (row.event_id, row.state) for row in rows}


@asynccontextmanager
async def deployment(url: str, directory: Path, **env: str) -> AsyncIterator[Deployment]:
    """A migrated database at `url` with a tenant; closed at the end."""
    await migrate.upgrade(url)
    settings = Settings(
        data_dir=directory / "data",
        database_url=url,
        public_base_url="http://127.0.0.1",
        allow_private_callbacks=True,
    )
    wired = runtimes.build(settings)
    try:
        tenant = await make_tenant(wired, "Reliability Paving")
        environment = {
            **FAST_ENGINE,
            "HOOKYARD_DATABASE_URL": url,
            "HOOKYARD_DATA_DIR": str(settings.data_dir),
            **env,
        }
        yield Deployment(url, settings.data_dir, wired, tenant, tenant.units[0].id, environment)
    finally:
        await wired.close()


class Hookyard:
    """`hookyard` processes of one scenario, each in a directory of its own for its output."""

    def __init__(self, deployed: Deployment, directory: Path) -> None:
        self.deployed = deployed
        self.directory = directory
        self._stack = contextlib.ExitStack()
        self._count = 0

    def __enter__(self) -> Hookyard:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stack.close()

    def start(self, *args: str, **env: str) -> processes.Process:
        self._count += 1
        place = self.directory / f"{self._count}-{args[0]}"
        place.mkdir(parents=True)
        command = [*processes.HOOKYARD, *args]
        return self._stack.enter_context(
            processes.running(command, place, {**self.deployed.env, **env})
        )

    async def serve(self, port: int, command: str = "serve", **env: str) -> processes.Process:
        process = self.start(command, "--port", str(port), **env)
        await process.wait_until_answering(f"http://127.0.0.1:{port}/healthz", timeout=90)
        return process


class Publisher:
    """Publishes numbered events through `POST /events/api/v1/precon/batch`, counting what was
    sent and which event ids were accepted (202); errors and refusals are counted, not raised."""

    def __init__(self, deployed: Deployment, base_url: str, *, batch: int = 20) -> None:
        self.deployed = deployed
        self.base_url = base_url
        self.batch = batch
        self.published = 0
        self.accepted: set[str] = set()
        self.refused = 0
        self._next = 0
        self._token = ""

    async def publish(self, events: int, *, pause: float = 0.0) -> None:
        """Send `events` more events in batches, one batch at a time."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=15) as client:
            end = self._next + events
            while self._next < end:
                size = min(self.batch, end - self._next)
                batch = [self.deployed.event(self._next + n) for n in range(size)]
                self._next += size
                self.published += size
                await self._send(client, batch)
                if pause:
                    await asyncio.sleep(pause)

    async def _send(self, client: httpx.AsyncClient, batch: list[dict[str, str]]) -> None:
        try:
            if not self._token:
                tenant = self.deployed.tenant
                self._token = await token(client, tenant.client_id, tenant.secret, "events:publish")
            answer = await client.post(
                "/events/api/v1/precon/batch", json=batch, headers=bearer(self._token)
            )
        except (httpx.HTTPError, AssertionError, OSError):
            self.refused += len(batch)
            return
        if answer.status_code == 202:
            self.accepted.update(answer.json()["eventIds"])
        else:
            self.refused += len(batch)


@dataclass
class Ledger:
    """Accepted deliveries against what the receivers answered and what the database says."""

    expected: int
    delivered: int
    duplicated: int
    parked: int
    unsettled: int
    """Deliveries still `pending` or `in_flight`, accepted or not: at rest, none."""
    waiting: int
    """Accepted deliveries among `unsettled`."""

    @property
    def lost(self) -> int:
        """Accepted deliveries neither delivered, parked nor still on their way (a missing row
        counts here too)."""
        return self.expected - self.delivered - self.parked - self.waiting

    @property
    def at_rest(self) -> bool:
        return self.unsettled == 0 and self.delivered + self.parked == self.expected


async def ledger(
    deployed: Deployment, publisher: Publisher, answered: Mapping[str, int], per_event: int
) -> Ledger:
    """Where every delivery of every accepted event is now."""
    rows = await deployed.deliveries()
    mine = {d: state for d, (event, state) in rows.items() if event in publisher.accepted}
    delivered = {d for d in mine if answered.get(d, 0) > 0}
    parked = {d for d, state in mine.items() if state in PARKED and d not in delivered}
    return Ledger(
        expected=len(publisher.accepted) * per_event,
        delivered=len(delivered),
        duplicated=sum(answered.get(d, 0) - 1 for d in delivered),
        parked=len(parked),
        unsettled=sum(1 for _event, state in rows.values() if state in UNSETTLED),
        waiting=sum(1 for d, state in mine.items() if state in UNSETTLED and d not in delivered),
    )


async def until_at_rest(
    deployed: Deployment,
    publisher: Publisher,
    receivers: Receivers,
    *,
    per_event: int,
    timeout: float,
    since: float | None = None,
) -> tuple[Ledger, float]:
    """Poll the ledger until everything is at rest or `timeout` passes; the last ledger and the
    seconds from `since` (a `time.monotonic()`, by default now) until then."""
    started = time.monotonic() if since is None else since
    deadline = time.monotonic() + timeout
    while True:
        try:
            current = await ledger(deployed, publisher, receivers.answered(), per_event)
        except DBAPIError:
            # The test's own pool held connections the database restart cut: read again.
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
            continue
        if current.at_rest or time.monotonic() > deadline:
            return current, time.monotonic() - started
        await asyncio.sleep(0.2)


def report(
    scenario: str, database: str, publisher: Publisher, final: Ledger, recovered: float
) -> Report:
    """The scenario's report, kept for the table at the end of the run."""
    result = Report(
        scenario=scenario,
        database=database,
        published=publisher.published,
        accepted=final.expected,
        delivered=final.delivered,
        duplicated=final.duplicated,
        held=final.parked,
        lost=final.lost,
        stuck=final.unsettled,
        recover_seconds=recovered if final.at_rest else None,
    )
    REPORTS.append(result)
    return result


def assert_nothing_lost(result: Report) -> None:
    assert result.accepted > 0, result
    assert result.lost == 0, result
    assert result.stuck == 0, result
    assert result.recover_seconds is not None, result
