"""Start `hookyard` commands (and other programs) as subprocesses on 127.0.0.1, wait for them by
polling with a deadline, and always stop them by pid."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.support.receiver import wait_until

HOOKYARD = [str(Path(sys.executable).with_name("hookyard"))]


def publish_employee_created(company_id: str, business_unit: str) -> list[str]:
    """The command that publishes one Setups `EmployeeCreated` event from a process of its own
    (to show that a publish elsewhere wakes a worker)."""
    return [
        *HOOKYARD,
        *("events", "publish", "setups", "EmployeeCreated"),
        *("--company", company_id, "--business-unit", business_unit, "--field", "id=1"),
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Process:
    """A running subprocess whose stdout and stderr go to files read on demand."""

    popen: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    @property
    def output(self) -> str:
        return self.stdout_path.read_text("utf-8", "replace")

    @property
    def errors(self) -> str:
        return self.stderr_path.read_text("utf-8", "replace")

    async def wait_for_output(self, text: str, timeout: float = 20.0) -> None:
        await wait_until(lambda: text in self.output, timeout, f"{text!r} in the output")

    async def wait_until_answering(self, url: str, timeout: float = 60.0) -> None:
        """Poll `url` until it answers any HTTP status; fail early if the process exits."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.popen.poll() is not None:
                    raise AssertionError(f"exited with {self.popen.returncode}: {self.errors}")
                try:
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)):
                        return
                except (aiohttp.ClientError, TimeoutError):
                    await asyncio.sleep(0.05)
        raise AssertionError(f"{url} did not answer within {timeout}s: {self.errors}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send `signum`, wait for the exit code; kill it if it does not exit in time."""
        if self.popen.poll() is None:
            self.popen.send_signal(signum)
            try:
                return self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=timeout)
                raise AssertionError(f"did not exit within {timeout}s of signal {signum}") from None
        return self.popen.returncode


@contextmanager
def running(
    args: Sequence[str], directory: Path, env: dict[str, str] | None = None
) -> Iterator[Process]:
    """Run `args`; on leaving, kill it by pid if it is still running."""
    stdout_path, stderr_path = directory / "stdout.txt", directory / "stderr.txt"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        popen = subprocess.Popen(
            list(args), stdout=stdout, stderr=stderr, env={**os.environ, **(env or {})}
        )
    process = Process(popen, stdout_path, stderr_path)
    try:
        yield process
    finally:
        if popen.poll() is None:
            popen.kill()
        popen.wait(timeout=15)
