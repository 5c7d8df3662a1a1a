"""Time the first hour's first minute: `make run` on a fresh clone until `GET /` answers, twice.

    python3 scripts/first_run.py [--repo PATH] [--port N] [--cold-cache]

The first run creates the venv, bootstraps uv and installs the server; the second finds them
installed. `--cold-cache` gives uv an empty cache (every package from PyPI), as on a new
machine. Only the standard library is used, so it runs before anything is installed. Each
`make run` is started in a process group of its own and stopped by that group's id.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 300.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT to the run's process group (make and hookyard), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def children_cpu() -> float:
    """CPU seconds (user and system) of every finished child process and its descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(clone: Path, port: int, env: dict[str, str], log: Path) -> tuple[float, float]:
    """Seconds from `make run` to the first 200 from GET /, and the CPU seconds the run used
    (until it stopped: a figure the machine's load changes less than the wall time)."""
    cpu = children_cpu()
    url = f"http://127.0.0.1:{port}/"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while time.monotonic() - started < DEADLINE:
            if process.poll() is not None:
                raise SystemExit(f"make run exited with {process.returncode}; see {log}")
            if answers(url):
                elapsed = time.monotonic() - started
                stop(process)
                return elapsed, children_cpu() - cpu
            time.sleep(0.1)
        raise SystemExit(f"GET / did not answer within {DEADLINE:.0f} s; see {log}")
    finally:
        stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the repository to clone")
    parser.add_argument("--port", type=int, default=0, help="the port (default: a free one)")
    parser.add_argument("--cold-cache", action="store_true", help="give uv an empty cache")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOOKYARD_", "VIRTUAL_ENV"))}
    with tempfile.TemporaryDirectory(prefix="hookyard-first-run-") as directory:
        clone = Path(directory) / "hookyard"
        subprocess.run(["git", "clone", "-q", str(args.repo), str(clone)], check=True)
        if args.cold_cache:
            env["UV_CACHE_DIR"] = str(Path(directory) / "uv-cache")
        port = args.port or free_port()
        first = timed_run(clone, port, env, Path(directory) / "first.log")
        second = timed_run(clone, port, env, Path(directory) / "second.log")
    cache = "an empty uv cache" if args.cold_cache else "uv's cache as it was"
    load = os.getloadavg()[0]
    print(f"first make run (venv, install, seed, serve): {first[0]:.1f} s, {first[1]:.1f} s CPU")
    print(f"second make run (installed, seeded): {second[0]:.1f} s, {second[1]:.1f} s CPU")
    print(f"({cache}; load average {load:.1f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
