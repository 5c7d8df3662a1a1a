"""The peer: what a Python team builds instead, one Celery task per delivery on the local Redis.

The task is the usual Django/Celery webhook pattern: `requests.post` with a timeout, raising on a
non-2xx answer, `autoretry_for` with exponential backoff and five tries in all. The worker runs as
`celery -A benchmarks.peer worker` in a subprocess (stopped by pid) on its own Redis database
number (`BENCH_REDIS_URL`, default db 13); only that database is ever flushed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests
from celery import Celery

from benchmarks import payloads

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
QUEUE = "hookyard-bench-webhooks"

app = Celery("hookyard_bench_peer", broker=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
_session = requests.Session()


# celery has no type hints (ignore_missing_imports in pyproject.toml): its decorator is untyped.
@app.task(  # type: ignore[untyped-decorator]
    autoretry_for=(requests.RequestException,),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=4,
)
def deliver(url: str, seq: int) -> None:
    """One delivery: build and sign the body, POST it, raise on anything but 2xx."""
    body = payloads.delivery_body(seq)
    headers = payloads.signed_headers(body, int(time.time()))
    response = _session.post(url, data=body, headers=headers, timeout=10, allow_redirects=False)
    response.raise_for_status()


def flush() -> None:
    """Empty the benchmark's own Redis database (and nothing else)."""
    redis.Redis.from_url(REDIS_URL).flushdb()


def enqueue(urls: list[str], count: int) -> dict[int, float]:
    """Publish one task per delivery, as the application would; the publish time of each."""
    published: dict[int, float] = {}
    for seq in range(count):
        published[seq] = time.time()
        deliver.delay(urls[seq % len(urls)], seq)
    return published


class PeerWorker:
    """A Celery worker subprocess on the benchmark queue (threads pool: the fastest of prefork,
    threads and gevent measured here, at the same concurrency as Hookyard and the ceiling)."""

    def __init__(self, log: Path, pool: str = "threads", concurrency: int = 64) -> None:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "benchmarks.peer",
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "-Q",
            QUEUE,
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=Path(__file__).resolve().parent.parent,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until the worker answers a ping (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the Celery worker exited; see its stderr above")
            if app.control.ping(timeout=0.5):
                return
        raise RuntimeError(f"the Celery worker did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()
