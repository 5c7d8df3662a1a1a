"""Start Hookyard, give schemathesis a token, run `schemathesis_cases`, print one JSON result.

Run inside a private network namespace with only `lo` up (see test_schemathesis.py): the fuzzer
makes Hookyard challenge whatever callback URLs it invents, and there they cannot leave the
machine.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1
BIN = Path(sys.executable).parent


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this child when its parent dies, so a killed run leaves no server."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cli(env: dict[str, str], *args: str) -> dict[str, str]:
    done = subprocess.run(
        [str(BIN / "hookyard"), *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, str] = json.loads(done.stdout)
    return result


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hookyard serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("hookyard serve did not answer /healthz in time")


def _token(url: str, client: dict[str, str]) -> str:
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        }
    ).encode()
    request = urllib.request.Request(f"{url}/identity/connect/token", data=form)
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.loads(response.read())["access_token"]
        return token


def _environment(data_dir: str, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKYARD_")}
    env.update(
        HOOKYARD_DATA_DIR=data_dir,
        HOOKYARD_DATABASE_URL=database_url,
        HOOKYARD_CHALLENGE_TIMEOUT_SECONDS="2",
        HOOKYARD_DELIVERY_TIMEOUT_SECONDS="2",
    )
    return env


def _seed(env: dict[str, str]) -> dict[str, str]:
    company = _cli(env, "companies", "create", "Fuzz Co")
    _cli(env, "business-units", "create", "--company", company["id"], "--code", "FZ")
    scopes = "precon:read dis:read heavyjob:read events:publish hookyard:admin"
    return _cli(env, "clients", "create", "--company", company["id"], "--scopes", scopes)


def run(database_url: str, examples: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="hookyard-fuzz-") as data_dir:
        env = _environment(data_dir, database_url or f"sqlite+aiosqlite:///{data_dir}/h.db")
        client = _seed(env)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [str(BIN / "hookyard"), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        try:
            _wait_healthy(url, server)
            fuzz_env = {
                **env,
                "HOOKYARD_FUZZ_URL": url,
                "HOOKYARD_FUZZ_TOKEN": _token(url, client),
                "HOOKYARD_FUZZ_EXAMPLES": str(examples),
            }
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "tests/contract/schemathesis_cases.py",
                    "-p",
                    "no:xdist",
                    "-p",
                    "no:cacheprovider",
                    "-q",
                    "--timeout=300",
                ],
                env=fuzz_env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=480,
                check=False,
            )
        finally:
            server.terminate()
            try:
                _, stderr = server.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                _, stderr = server.communicate()
    return {
        "returncode": done.returncode,
        "output": done.stdout[-6000:],
        "server_errors": [
            line for line in stderr.decode(errors="replace").splitlines() if "Traceback" in line
        ][:5],
    }


if __name__ == "__main__":
    database = sys.argv[1] if len(sys.argv) > 1 else ""
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    print(json.dumps(run(database, count)))
