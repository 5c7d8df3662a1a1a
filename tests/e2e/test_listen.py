"""`hookyard listen` as a real subprocess on 127.0.0.1: challenge, verification, output,
forwarding, forced status, clean exit on SIGTERM and Ctrl-C; and the real delivery engine
retrying a forced 500 from it until the record is Stopped."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from typer.testing import CliRunner

from hookyard import signing
from hookyard.cli import main
from hookyard.store import Store
from tests.support import engine, processes, tenancy
from tests.support.receiver import Behaviour, Receiver, wait_until

pytestmark = pytest.mark.slow

SECRET = signing.generate_secret()
CHALLENGE = "Zq3_-" * 8
PRECON = {
    "eventSource": "HeavyBid Pre-Construction",
    "eventType": "ProjectChanged",
    "entityUrl": "http://127.0.0.1/precon/api/v1/businessUnits/bu-7/Projects/p-42",
    "version": "1",
    "date": "2026-11-29T05:00:00Z",
    "data": {"companyId": "c-1", "businessUnitId": "bu-7", "projectId": "p-42"},
}


def signed(
    payload: object, secret: str = SECRET, msg_id: str = "msg_e2e_1"
) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    headers = signing.headers([secret], msg_id, int(time.time()), body)
    return headers | {"Content-Type": "application/json"}, body


def listen_args(port: int, *extra: str) -> list[str]:
    return [*processes.HOOKYARD, "listen", "--port", str(port), "--host", "127.0.0.1", *extra]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as client:
        yield client


# Errors first: bad input is refused before anything listens (in-process: nothing starts).


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--secret", "not-base64!"], "--secret: the secret key must be standard base64"),
        (["--secret", "c2hvcnQ="], "--secret: the secret key must decode to 16 to 64 bytes"),
        (["--forward-to", "ftp://127.0.0.1/x"], "is not an http(s) URL"),
        (["--forward-to", "nowhere"], "is not an http(s) URL"),
        (["--respond", "99"], "100"),
        (["--port", "70000"], "65535"),
    ],
)
def test_bad_options_are_refused_with_a_reason(extra: list[str], message: str) -> None:
    result = CliRunner().invoke(main.app, ["listen", "--port", "1", *extra])
    assert result.exit_code == 2
    assert message in result.stderr
    if extra[0] == "--secret":
        assert extra[1] not in result.output


def test_a_port_in_use_is_refused_with_a_reason() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main.app, ["listen", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


# The listener at work.


async def test_answers_the_challenge_and_shows_verified_and_refused_events(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}/hook"
    args = listen_args(port)
    with processes.running(args, tmp_path, env={"HOOKYARD_LISTEN_SECRET": SECRET}) as listener:
        await listener.wait_until_answering(url)
        async with session.get(url, params={"challenge": CHALLENGE}) as response:
            assert (response.status, await response.text()) == (200, CHALLENGE)
            assert response.content_type == "text/plain"
        await listener.wait_for_output("challenge answered")

        headers, body = signed(PRECON)
        async with session.post(url, data=body, headers=headers) as response:
            assert response.status == 200
        await listener.wait_for_output("ProjectChanged")
        await listener.wait_for_output("p-42")
        assert "msg_e2e_1" in listener.output
        assert "signature   verified" in listener.output

        forged, _ = signed(PRECON, secret=signing.generate_secret(), msg_id="msg_forged")
        async with session.post(url, data=body, headers=forged) as response:
            assert response.status == 401
            assert "no signature" in await response.text()
        await listener.wait_for_output("NOT VERIFIED: no signature")
        assert "msg_forged" in listener.output

        assert listener.stop(signal.SIGTERM) == 0
    assert "stopped" in listener.output
    assert SECRET not in listener.output + listener.errors


async def test_forwards_raw_requests_to_a_local_app_and_relays_its_status(
    tmp_path: Path, session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    receiver.answer("/app", Behaviour(status=202))  # echoes a challenge, with 202 to tell it apart
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}/hook"
    args = listen_args(port, "--secret", "whsec_" + SECRET, "--forward-to", receiver.url("/app"))
    with processes.running(args, tmp_path) as listener:
        await listener.wait_until_answering(url + "?probe=1")
        async with session.get(url, params={"challenge": CHALLENGE}) as response:
            assert (response.status, await response.text()) == (202, CHALLENGE)

        headers, body = signed(
            {"companyId": "c", "eventType": "EmployeeCreated", "businessUnitId": "b", "id": "e"}
        )
        async with session.post(url, data=body, headers=headers) as response:
            assert response.status == 202
        await listener.wait_for_output("EmployeeCreated")
        forwarded = receiver.posts("/app")
        assert len(forwarded) == 1
        assert forwarded[0].body == body
        sent = {k.lower(): v for k, v in forwarded[0].headers.items()}
        for name, value in headers.items():
            assert sent[name.lower()] == value
        challenges = [r for r in receiver.received("GET", "/app") if r.query.get("challenge")]
        assert [r.query["challenge"] for r in challenges] == [CHALLENGE]
        assert listener.stop() == 0


async def test_a_dead_forward_target_is_a_502_with_a_reason(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    port, dead = processes.free_port(), processes.free_port()
    url = f"http://127.0.0.1:{port}/hook"
    args = listen_args(port, "--forward-to", f"http://127.0.0.1:{dead}/app")
    with processes.running(args, tmp_path) as listener:
        await listener.wait_until_answering(url)
        headers, body = signed(PRECON)
        async with session.post(url, data=body, headers=headers) as response:
            assert response.status == 502
        await listener.wait_for_output("could not forward")
        assert "not checked" in listener.output
        assert listener.stop() == 0


async def test_respond_forces_the_status_of_events_but_not_of_challenges(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}/hook"
    with processes.running(listen_args(port, "--respond", "500"), tmp_path) as listener:
        await listener.wait_until_answering(url)
        async with session.get(url, params={"challenge": CHALLENGE}) as response:
            assert (response.status, await response.text()) == (200, CHALLENGE)
        headers, body = signed(PRECON)
        for _ in range(2):
            async with session.post(url, data=body, headers=headers) as response:
                assert response.status == 500
        await listener.wait_for_output("-> 500")
        assert "events answered with status 500" in listener.output
        assert listener.stop(signal.SIGINT) == 0
    assert "stopped" in listener.output
    assert "Traceback" not in listener.errors


# Hookyard's own delivery engine against `hookyard listen`.


async def test_the_engine_signs_what_listen_verifies_and_a_forced_500_stops_the_record(
    store: Store, tmp_path: Path
) -> None:
    tenant = await tenancy.add_tenant(store)
    secret = signing.generate_secret()
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}/hook"
    args = listen_args(port, "--secret", secret, "--respond", "500")
    with processes.running(args, tmp_path) as listener:
        await listener.wait_until_answering(url)
        record = await tenancy.subscribe(
            store, tenant, "setups", "EmployeeCreated", url, secret=secret
        )
        event = {"eventType": "EmployeeCreated", "companyId": tenant.company_id}
        async with engine.running_worker(store):
            await engine.events(store).publish(
                "setups",
                event | {"businessUnitId": "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001", "id": "emp-1"},
                publisher_id="pub",
            )

            async def stopped() -> bool:
                return (await tenancy.subscription_status(store, record))[0] == "Stopped"

            await engine.eventually(stopped, what="the record Stopped after five 500s")
        await wait_until(
            lambda: listener.output.count("POST /hook -> 500") >= 5, what="five tries printed"
        )
        assert listener.stop() == 0
    tries = [line for line in listener.output.splitlines() if "POST /hook -> 500" in line]
    assert len(tries) == 5
    assert all("EmployeeCreated" in line for line in tries)
    assert listener.output.count("signature   verified") == 5
    ids = {line.split()[-1] for line in listener.output.splitlines() if "webhook-id" in line}
    assert len(ids) == 1
