"""The seed guide end to end with a plain HTTP client against a running `hookyard serve`: the
operator sets up a tenant; the integrator gets a token, lists business units,
subscribes a real receiver on 127.0.0.1 (challenge answered), lists, updates and deletes; and
the challenge failures (404, wrong body, timeout, connection refused) store nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from hookyard.cli import runtime as runtimes
from hookyard.config import Settings
from hookyard.store import migrate
from tests.support import server
from tests.support.processes import free_port
from tests.support.receiver import Behaviour, Receiver

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("seed-guide")]
TYPES = ["ProjectCreated", "ProjectChanged"]


@dataclass(frozen=True)
class Hookyard:
    base_url: str
    client_id: str
    secret: str


async def _seed(settings: Settings) -> tuple[str, str]:
    """The operator's part, through the real credentials service: a company, two business
    units, one client with precon:read."""
    wired = runtimes.build(settings)
    try:
        credentials = wired.credentials
        company = await credentials.create_company("Acme Paving")
        for code in ("EAST", "WEST"):
            await credentials.create_business_unit(company.id, code)
        issued = await credentials.create_client(scopes=["precon:read"], company_id=company.id)
        return issued.client.id, issued.secret
    finally:
        await wired.close()


@pytest.fixture(scope="module")
def hookyard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hookyard]:
    """A tenant, then `hookyard serve` on a free port (challenge timeout 1 s)."""
    workdir = tmp_path_factory.mktemp("seed-guide")
    env = server.environment(
        workdir / "data", allow_private_callbacks="true", challenge_timeout_seconds="1"
    )
    settings = Settings(data_dir=workdir / "data")
    # pytest-asyncio may already run a loop in this thread: seed from a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(migrate.upgrade_sync, settings.database_url).result(timeout=60)
        client_id, secret = pool.submit(asyncio.run, _seed(settings)).result(timeout=60)
    with server.hookyard(["serve"], env, workdir) as running:
        yield Hookyard(running.base_url, client_id, secret)


@pytest.fixture
async def http(hookyard: Hookyard) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hookyard.base_url, timeout=30) as client:
        yield client


async def _headers(http: httpx.AsyncClient, hookyard: Hookyard) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": hookyard.client_id,
        "client_secret": hookyard.secret,
        "scope": "precon:read",
    }
    response = await http.post("/identity/connect/token", data=form)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _unit(http: httpx.AsyncClient, headers: dict[str, str], code: str) -> str:
    response = await http.get("/precon/api/v1/businessUnits", headers=headers)
    assert response.status_code == 200, response.text
    units: dict[str, str] = {unit["code"]: unit["id"] for unit in response.json()["results"]}
    assert set(units) == {"EAST", "WEST"}
    return units[code]


async def test_the_seed_guide_from_token_to_delete(
    http: httpx.AsyncClient, hookyard: Hookyard, receiver: Receiver
) -> None:
    headers = await _headers(http, hookyard)
    path = f"/webhooks/api/v1/precon/{await _unit(http, headers, 'EAST')}"
    url = receiver.url("/hook")

    created = await http.post(path, json={"url": url, "eventTypes": TYPES}, headers=headers)
    assert created.status_code == 200, created.text
    secret_key = created.json()["secretKey"]
    challenges = receiver.received("GET", "/hook")
    assert len(challenges) == 1
    assert len(challenges[0].query["challenge"]) >= 32

    listed = (await http.get(path, headers=headers)).json()
    assert sorted(r["eventType"] for r in listed) == sorted(TYPES)
    assert {(r["callbackUrl"], r["status"], r["secretKey"]) for r in listed} == {
        (url, "Active", secret_key)
    }
    assert {r["clientId"] for r in listed} == {hookyard.client_id}

    updated = await http.put(
        path, json={"url": url, "eventTypes": ["ProjectDeleted"]}, headers=headers
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["secretKey"] == secret_key
    listed = (await http.get(path, headers=headers)).json()
    assert [r["eventType"] for r in listed] == ["ProjectDeleted"]

    deleted = await http.delete(path, params={"url": url}, headers=headers)
    assert deleted.status_code == 200
    assert deleted.content == b""
    assert (await http.get(path, headers=headers)).json() == []
    again = await http.delete(path, params={"url": url}, headers=headers)
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("behaviour", "says"),
    [
        (Behaviour(status=404), "status 404"),
        (Behaviour(body="not the challenge"), "body did not match"),
        (Behaviour(blackhole=True), "timed out"),
    ],
    ids=["404", "wrong-body", "timeout"],
)
async def test_a_failed_challenge_is_400_and_stores_nothing(
    http: httpx.AsyncClient,
    hookyard: Hookyard,
    receiver: Receiver,
    behaviour: Behaviour,
    says: str,
) -> None:
    receiver.answer("/hook", behaviour)
    await _refused(http, hookyard, receiver.url("/hook"), says)
    assert len(receiver.received("GET", "/hook")) == 2  # the POST's and the PUT's


async def test_a_refused_connection_is_400_and_stores_nothing(
    http: httpx.AsyncClient, hookyard: Hookyard
) -> None:
    await _refused(http, hookyard, f"http://127.0.0.1:{free_port()}/hook", "connection refused")


async def _refused(http: httpx.AsyncClient, hookyard: Hookyard, url: str, says: str) -> None:
    headers = await _headers(http, hookyard)
    path = f"/webhooks/api/v1/precon/{await _unit(http, headers, 'WEST')}"
    for method in ("POST", "PUT"):
        response = await http.request(
            method, path, json={"url": url, "eventTypes": TYPES}, headers=headers
        )
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert says in response.json()["detail"]
        assert "nothing was stored" in response.json()["detail"]
        assert (await http.get(path, headers=headers)).json() == []
