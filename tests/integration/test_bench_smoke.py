"""The benchmark suite at tiny size: every published delivery arrives, none is missing.

No timing is asserted here; speed is measured by `make bench` (docs/performance.md).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from benchmarks.__main__ import SCENARIOS
from benchmarks.procs import ROOT
from benchmarks.receiver import ReceiverProcess

pytestmark = pytest.mark.slow


def test_receiver_counts_distinct_ids_and_duplicates(tmp_path: Path) -> None:
    with ReceiverProcess(healthy=2) as receiver:
        first, second = receiver.urls()
        for url, msg_id in ((first, "msg_a"), (second, "msg_b"), (first, "msg_a")):
            body = b'{"data": {"projectId": "00000000-0000-4000-8000-000000000007"}}'
            answer = requests.post(url, data=body, headers={"webhook-id": msg_id}, timeout=5)
            assert answer.status_code == 200
        stats = receiver.stats()
        receipts = receiver.first_receipts(tmp_path)
    assert (stats["requests"], stats["distinct"], stats["duplicates"]) == (3, 2, 1)
    assert {tag for _, tag, _ in receipts.values()} == {"00000000-0000-4000-8000-000000000007"}


def test_receiver_echoes_a_challenge() -> None:
    with ReceiverProcess() as receiver:
        answer = requests.get(receiver.urls()[0] + "?challenge=abc123", timeout=5)
    assert (answer.status_code, answer.text) == (200, "abc123")


def test_blackhole_accepts_and_never_answers() -> None:
    with ReceiverProcess(healthy=0, blackhole=1) as receiver:
        with socket.create_connection(("127.0.0.1", receiver.blackhole[0]), timeout=5) as sock:
            sock.sendall(
                b"POST /hook HTTP/1.1\r\nHost: x\r\nwebhook-id: m1\r\nContent-Length: 2\r\n\r\n{}"
            )
            sock.settimeout(0.5)
            with pytest.raises(TimeoutError):
                sock.recv(1)
        stats = receiver.stats()
    assert (stats["requests"], stats["healthy_distinct"]) == (1, 0)


# One database per scenario keeps `make test` fast; `make bench-smoke` runs both everywhere.
SMOKE_DATABASES = {
    "throughput": "sqlite",
    "latency": "postgres",
    "latency-curve": "sqlite",
    "fan-out": "sqlite",
    "isolation": "sqlite",
    "scale-out": "postgres",
    "memory": "postgres",
    "backlog": "sqlite",
    "blackhole": "postgres",
    "cold-burst": "sqlite",
    "retention": "sqlite",
    "costs": "postgres",
}


# Scenarios that start two deployments (a baseline and a contender) get longer on a loaded machine.
SMOKE_SECONDS = {
    "backlog": 240,
    "blackhole": 180,
    "costs": 180,
    "cold-burst": 180,
    "retention": 240,
}


@pytest.mark.postgres
@pytest.mark.parametrize(
    "scenario",
    [pytest.param(s, marks=pytest.mark.timeout(SMOKE_SECONDS.get(s, 120))) for s in SCENARIOS],
)
def test_scenario_at_tiny_size_delivers_everything(scenario: str, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    database = SMOKE_DATABASES[scenario]
    command = [
        sys.executable,
        "-m",
        "benchmarks",
        "--smoke",
        f"--only={scenario}",
        f"--databases={database}",
        f"--json={results}",
    ]
    finished = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SMOKE_SECONDS.get(scenario, 120) - 5,
        check=False,
    )
    report = json.loads(results.read_text())
    assert report["errors"] == [], finished.stdout + finished.stderr
    assert report["runs"], finished.stdout
    for run in report["runs"]:
        assert run["expected"] > 0, run
        assert (run["received"], run["missing"]) == (run["expected"], 0), run
    assert finished.returncode == 0, finished.stdout + finished.stderr


def _module(name: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", name, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout


def test_store_cpu_claims_and_finishes_every_queued_delivery() -> None:
    out = _module("benchmarks.store_cpu", "--dialect", "sqlite", "--deliveries", "400")
    assert out.startswith("sqlite: 400 claimed and finished;"), out


def test_claim_cost_claims_every_healthy_delivery_beside_the_backlog() -> None:
    out = _module(
        "benchmarks.claim_cost", "--dialect", "sqlite", "--deliveries", "80", "--backlog", "300"
    )
    assert out.startswith("sqlite: backlog 300; 80 healthy deliveries claimed;"), out


def test_sender_cpu_times_both_senders() -> None:
    out = _module("benchmarks.sender_cpu", "--count", "200")
    assert re.fullmatch(r"ceiling request [\d.]+ us CPU per POST; Sender.send [\d.]+ us\n", out), (
        out
    )


def test_serve_phases_counts_every_delivery() -> None:
    out = _module("benchmarks.serve_phases", "--dialect", "sqlite", "--deliveries", "160")
    assert re.fullmatch(
        r"sqlite: publishing took [\d.]+ s, \d+ delivered by then; \d+ deliveries/s overall,"
        r" (\d+/s after the last publish|all delivered while publishing)\n",
        out,
    ), out


def test_throttle_cost_counts_every_failure_under_its_two_keys() -> None:
    out = _module("benchmarks.throttle_cost", "--dialect", "sqlite", "--requests", "100")
    assert out.startswith("sqlite: 100 requests; check median "), out
    assert out.endswith("; 200 rows\n"), out
