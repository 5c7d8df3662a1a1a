"""The documented many-host topology (docs/deploy.md, deploy/*.service) as separate processes with
separate data directories, as separate hosts would have them, on one PostgreSQL: two `hookyard
api` behind a (pretend) proxy and two `hookyard worker`, their keys from secret files made with
`hookyard keys generate`. Every published delivery arrives, a token from one API works on the
other, the token failure count is shared, and a process with other keys refuses to start.

Each process's command line and environment are read from the systemd units, with the paths of
this machine put in (the venv's `hookyard`, a temporary credentials directory, a free port)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import standardwebhooks

from hookyard.cli import runtime as runtimes
from hookyard.cli import startup
from hookyard.config import Settings
from hookyard.services import key_check
from tests.support import databases, processes
from tests.support.receiver import Receiver
from tests.support.tenants import Tenant, bearer, make_tenant, token

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
INSTALLED = "/opt/hookyard/bin/hookyard"
EVENTS = 12
PUBLIC = "https://hookyard.example.com"
STRANGER, HOME = "203.0.113.9", "198.51.100.4"
TOKEN = "/identity/connect/token"


@dataclass(frozen=True)
class Unit:
    argv: list[str]
    env: dict[str, str]


def unit(name: str, *, credentials: Path, state: Path, port: int | None = None) -> Unit:
    """The ExecStart and Environment= of a unit under deploy/, for this machine."""
    text = (DEPLOY / name).read_text()
    text = text.replace("%d", str(credentials)).replace("%S", str(state)).replace("%i", "1")
    (exec_start,) = re.findall(r"^ExecStart=(.+)$", text, re.MULTILINE)
    argv = exec_start.split()
    assert argv[0] == INSTALLED
    argv[:1] = processes.HOOKYARD
    if port is not None:
        argv[argv.index("--port") + 1] = str(port)
    env = dict(line.split("=", 1) for line in re.findall(r"^Environment=(.+)$", text, re.MULTILINE))
    return Unit(argv, env)


def shared_environment(database_url: str) -> dict[str, str]:
    """deploy/hookyard.env with this test's database (and loopback callbacks allowed)."""
    lines = (DEPLOY / "hookyard.env").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {
        **env,
        "HOOKYARD_DATABASE_URL": database_url,
        "HOOKYARD_REQUIRE_HTTPS": "false",
        "HOOKYARD_ALLOW_PRIVATE_CALLBACKS": "true",
        "HOOKYARD_TOKEN_FAILURES_PER_CLIENT": "3",
        "HOOKYARD_TOKEN_FAILURE_WAIT_SECONDS": "600",
    }


def generate(kind: str, path: Path) -> None:
    """`hookyard keys generate KIND > path`, as docs/deploy.md says."""
    with path.open("w") as out:
        subprocess.run([*processes.HOOKYARD, "keys", "generate", kind], stdout=out, check=True)


@pytest.fixture
def database(postgres_database: str) -> str:
    databases.truncate_postgres(postgres_database)
    return postgres_database


async def seed(database: str, credentials: Path, workdir: Path) -> Tenant:
    settings = Settings(
        data_dir=workdir / "operator",
        database_url=database,
        jwt_keys_file=credentials / "jwt.keys",
        secret_key_file=credentials / "secret.keys",
    )
    wired = runtimes.build(settings)
    try:
        return await make_tenant(wired)
    finally:
        await wired.close()


@pytest.fixture
def hosts() -> Iterator[ExitStack]:
    """Every process started in the test is killed (by pid) when it ends."""
    with ExitStack() as stack:
        yield stack


def start(
    stack: ExitStack, name: str, work: Path, one: Unit, shared: dict[str, str]
) -> processes.Process:
    directory = work / name
    directory.mkdir()
    return stack.enter_context(processes.running(one.argv, directory, {**shared, **one.env}))


# Six processes (four of Hookyard) start on two cores that other test runs share.
@pytest.mark.timeout(300)
async def test_two_apis_and_two_workers_on_separate_hosts_share_keys_and_one_postgresql(
    database: str, receiver: Receiver, tmp_path: Path, hosts: ExitStack
) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir(mode=0o700)
    generate("jwt", credentials / "jwt.keys")
    generate("secret", credentials / "secret.keys")
    tenant = await seed(database, credentials, tmp_path)
    shared = shared_environment(database)
    ports = [processes.free_port(), processes.free_port()]
    apis = [
        start(
            hosts,
            f"api{n}",
            tmp_path,
            unit(
                "hookyard-api.service",
                credentials=credentials,
                state=tmp_path / f"api{n}-state",
                port=port,
            ),
            shared,
        )
        for n, port in enumerate(ports)
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    for api, base in zip(apis, bases, strict=True):
        await api.wait_until_answering(f"{base}/healthz")
    secret = await subscribe_on_second_with_token_from_first(bases, tenant, receiver)
    workers = [
        start(
            hosts,
            f"worker{n}",
            tmp_path,
            unit(
                "hookyard-worker@.service",
                credentials=credentials,
                state=tmp_path / f"worker{n}-state",
            ),
            shared,
        )
        for n in range(2)
    ]
    await publish_alternately(bases, tenant)
    await receiver.wait_for(lambda: len(receiver.posts()) >= EVENTS, 60, "every delivery")
    received = receiver.posts()
    assert len({post.headers["webhook-id"] for post in received}) == EVENTS
    for post in received:
        standardwebhooks.Webhook(secret).verify(post.body, post.headers)
    await the_failure_count_is_shared_and_a_stranger_does_not_lock_the_client_out(bases, tenant)
    for process in [*workers, *apis]:
        assert process.stop() == 0, process.errors


async def subscribe_on_second_with_token_from_first(
    bases: list[str], tenant: Tenant, receiver: Receiver
) -> str:
    async with httpx.AsyncClient(base_url=bases[0], timeout=30) as first:
        access = await token(first, tenant.client_id, tenant.secret, "precon:read")
    async with httpx.AsyncClient(base_url=bases[1], timeout=30) as second:
        created = await second.post(
            f"/webhooks/api/v1/precon/{tenant.units[0].id}",
            json={"url": receiver.url(), "eventTypes": ["ProjectCreated"]},
            headers=bearer(access),
        )
    assert created.status_code == 200, created.text
    secret: str = created.json()["secretKey"]
    return secret


async def publish_alternately(bases: list[str], tenant: Tenant) -> None:
    """EVENTS events, each through one API with a token from the other."""
    clients = [httpx.AsyncClient(base_url=base, timeout=30) for base in bases]
    try:
        tokens = [
            await token(c, tenant.client_id, tenant.secret, "events:publish") for c in clients
        ]
        for n in range(EVENTS):
            event = {
                "eventType": "ProjectCreated",
                "companyId": tenant.company.id,
                "businessUnitId": tenant.units[0].id,
                "projectId": f"p-{n}",
            }
            through, signed_by = clients[n % 2], tokens[(n + 1) % 2]
            accepted = await through.post(
                "/events/api/v1/precon", json=event, headers=bearer(signed_by)
            )
            assert accepted.status_code == 202, accepted.text
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def form(tenant: Tenant, secret: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": tenant.client_id,
        "client_secret": secret,
    }


async def the_failure_count_is_shared_and_a_stranger_does_not_lock_the_client_out(
    bases: list[str], tenant: Tenant
) -> None:
    """Three wrong secrets from the stranger's address, spread over both APIs, lock that address
    out on both; the client's own address (through the same trusted proxy) still gets tokens."""
    stranger = {"X-Forwarded-For": STRANGER}
    async with httpx.AsyncClient(timeout=30) as http:
        for base in (bases[0], bases[1], bases[0]):
            wrong = await http.post(base + TOKEN, data=form(tenant, "wrong"), headers=stranger)
            assert wrong.status_code == 401
        for base in bases:
            locked = await http.post(
                base + TOKEN, data=form(tenant, tenant.secret), headers=stranger
            )
            assert locked.status_code == 429, locked.text
            home = await http.post(
                base + TOKEN, data=form(tenant, tenant.secret), headers={"X-Forwarded-For": HOME}
            )
            assert home.status_code == 200, home.text


# Five `hookyard` commands (two key generations, two refused starts) on shared cores.
@pytest.mark.timeout(300)
def test_a_process_with_other_keys_than_its_peers_refuses_to_start(
    database: str, tmp_path: Path
) -> None:
    """Once an API has started with the shared key files, a worker with another sealing key, and
    an API with no key file and an empty data directory, exit 1 with one `error:` line each (and
    no traceback)."""
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    generate("jwt", credentials / "jwt.keys")
    generate("secret", credentials / "secret.keys")
    shared = shared_environment(database)
    settings = Settings(
        data_dir=tmp_path / "first",
        database_url=database,
        jwt_keys_file=credentials / "jwt.keys",
        secret_key_file=credentials / "secret.keys",
    )
    kinds = (key_check.JWT, key_check.SECRET)
    assert asyncio.run(startup.key_problems(settings, kinds, record=True)) == []
    other = tmp_path / "other-credentials"
    other.mkdir()
    generate("secret", other / "secret.keys")
    worker = unit("hookyard-worker@.service", credentials=other, state=tmp_path / "stray")
    api = unit("hookyard-api.service", credentials=credentials, state=tmp_path / "bare")
    bare = {name: value for name, value in api.env.items() if not name.endswith("_FILE")}
    refusing = [
        (
            subprocess.Popen(
                argv,
                env={**os.environ, **shared, **env},
                stderr=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                text=True,
            ),
            expected,
        )
        for argv, env, expected in (
            (worker.argv, worker.env, "lacks the secret-sealing key"),
            (api.argv, bare, "no JWT signing key is configured"),
        )
    ]
    for process, expected in refusing:
        _, stderr = process.communicate(timeout=100)
        assert process.returncode == 1, stderr
        (error,) = [line for line in stderr.splitlines() if line.startswith("error: ")]
        assert expected in error, error
        assert "Traceback" not in stderr
