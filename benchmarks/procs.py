"""Child processes of the benchmark: started with a log file, sampled for RSS, stopped by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Child:
    """One child process whose output goes to a log file; `stop` ends it by pid, always."""

    def __init__(self, command: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.process = subprocess.Popen(
            list(command), env=env, cwd=ROOT, stdout=self._out, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._out.close()
        return self.process.returncode

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class RssSampler:
    """Samples the resident memory of some pids every `interval` seconds in a thread; peak in MB."""

    def __init__(self, pids: Sequence[int], interval: float = 0.1) -> None:
        self._processes = [psutil.Process(pid) for pid in pids]
        self._interval = interval
        self._stop = threading.Event()
        self.peak: dict[int, int] = {pid: 0 for pid in pids}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for process in self._processes:
                try:
                    rss = process.memory_info().rss
                except psutil.Error:
                    continue
                self.peak[process.pid] = max(self.peak[process.pid], rss)
            self._stop.wait(self._interval)

    def stop(self) -> dict[int, float]:
        self._stop.set()
        self._thread.join(timeout=5)
        return {pid: rss / 2**20 for pid, rss in self.peak.items()}


def wait_until(condition: object, timeout: float, what: str, step: float = 0.05) -> None:
    """Poll `condition()` until true; RuntimeError naming `what` at the deadline."""
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


class CpuMeter:
    """CPU seconds (user + system) some processes spend between `start` and `stop`; a process
    that is gone by `stop` counts what it had spent when last read."""

    def __init__(self, pids: Sequence[int]) -> None:
        self._processes = []
        for pid in pids:
            try:
                self._processes.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                continue
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}

    def start(self) -> CpuMeter:
        self._start = {p.pid: self._read(p) for p in self._processes}
        self._last = dict(self._start)
        return self

    def stop(self) -> float:
        for process in self._processes:
            self._last[process.pid] = self._read(process, self._last.get(process.pid, 0.0))
        return sum(self._last[pid] - self._start.get(pid, 0.0) for pid in self._last)

    @staticmethod
    def _read(process: psutil.Process, default: float = 0.0) -> float:
        try:
            times = process.cpu_times()
        except psutil.Error:
            return default
        return float(times.user + times.system)
