"""Hookyard as a real subprocess on a free loopback port, always stopped by its pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.processes import free_port

HOOKYARD = str(Path(sys.executable).with_name("hookyard"))
START_TIMEOUT = 100.0
STOP_TIMEOUT = 15.0


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """The test process's environment without any HOOKYARD_* setting, then `data_dir` and
    `extra` (HOOKYARD_ names given without the prefix, e.g. allow_private_callbacks="true")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKYARD_")}
    env["HOOKYARD_DATA_DIR"] = str(data_dir)
    env.update({f"HOOKYARD_{name.upper()}": value for name, value in extra.items()})
    return env


@dataclass
class Running:
    """A started Hookyard process; its stdout and stderr go to files."""

    process: subprocess.Popen[bytes]
    base_url: str
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text()

    def errors(self) -> str:
        return self.stderr.read_text()


def wait_healthy(running: Running, timeout: float = START_TIMEOUT) -> None:
    """Poll /healthz until it answers 200; fail with the process's stderr at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise AssertionError(f"hookyard exited early:\n{running.errors()}")
        try:
            if httpx.get(f"{running.base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"hookyard did not answer /healthz in {timeout}s:\n{running.errors()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after a grace period; by pid, never by name."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def hookyard(
    args: Sequence[str],
    env: Mapping[str, str],
    workdir: Path,
    *,
    port: int | None = None,
    start_timeout: float = START_TIMEOUT,
) -> Iterator[Running]:
    """Run `hookyard ARGS --host 127.0.0.1 --port P`, wait until it is healthy, stop it after."""
    port = port or free_port()
    stdout, stderr = workdir / f"stdout-{port}.txt", workdir / f"stderr-{port}.txt"
    command = [HOOKYARD, *args, "--host", "127.0.0.1", "--port", str(port)]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            command, env=dict(env), cwd=workdir, stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
    running = Running(process, f"http://127.0.0.1:{port}", stdout, stderr)
    try:
        wait_healthy(running, start_timeout)
        yield running
    finally:
        stop(process)
