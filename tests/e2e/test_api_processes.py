"""`hookyard api --processes 2` on PostgreSQL, as docs/deploy.md runs it: a parent and two API
processes serving one port. Each of them answers (the other one stopped with SIGSTOP while it
does), publishes through both are stored and counted together in `/metrics`, one killed with
SIGKILL is started again while the port keeps answering, SIGTERM to the parent stops them all
(exit 0), and SIGKILL to the parent leaves no orphan behind."""

from __future__ import annotations

import re
import shlex
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from hookyard.cli.runtime import Runtime
from hookyard.store import schema
from tests.support import processes, served
from tests.support.receiver import Receiver, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
STARTED = "Application startup complete."
TOKEN = "e2e-scrape-token"


def documented_command(port: int) -> list[str]:
    """docs/deploy.md's `hookyard api ... --processes` line, on `port`."""
    (line,) = re.findall(r"^hookyard api .*--processes .*$", DOC.read_text(), re.MULTILINE)
    argv = shlex.split(line)
    argv[argv.index("--port") + 1] = str(port)
    return [*processes.HOOKYARD, *argv[1:]]


def _children(api: processes.Process) -> list[psutil.Process]:
    return psutil.Process(api.popen.pid).children()


def _listens(child: psutil.Process, port: int) -> bool:
    return any(
        held.status == psutil.CONN_LISTEN and held.laddr.port == port
        for held in child.net_connections("tcp")
    )


def _gone(child: psutil.Process) -> bool:
    """Exited: reaped, or a zombie nobody reaps (this machine's init may not)."""
    try:
        return child.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@contextmanager
def _only(child: psutil.Process, children: list[psutil.Process]) -> Iterator[None]:
    """Every other API process stopped (SIGSTOP), so that `child` takes every new connection."""
    others = [other for other in children if other.pid != child.pid]
    for other in others:
        other.suspend()
    try:
        yield
    finally:
        for other in others:
            other.resume()


async def _stored_events(runtime: Runtime) -> int:
    async with runtime.store.db.read() as connection:
        counted = await connection.execute(select(func.count()).select_from(schema.events))
        return int(counted.scalar_one())


async def _ingested(base: str) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "hookyard_events_ingested_total":
                return sample.value
    return 0.0


async def test_two_api_processes_serve_one_port_are_restarted_and_stop_together(
    runtime: Runtime, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    subscribed = await served.subscribed_tenant(runtime, receiver)
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    env = served.environment(runtime, database_url, HOOKYARD_METRICS_TOKEN=TOKEN)
    with processes.running(documented_command(port), tmp_path, env) as api:
        await wait_until(lambda: api.errors.count(STARTED) == 2, 60, "two API processes")
        children = _children(api)
        assert len(children) == 2
        assert all(_listens(child, port) for child in children)
        for child in children:
            with _only(child, children):
                await served.publish_project_created(base, subscribed)
        assert await _stored_events(runtime) == 2
        assert await _ingested(base) == 2.0  # both processes' counters, whichever is scraped

        children[0].kill()
        await wait_until(lambda: api.errors.count(STARTED) == 3, 60, "a new API process")
        assert "died unexpectedly (killed by SIGKILL); starting another" in api.errors
        (replaced,) = [child for child in _children(api) if child.pid != children[1].pid]
        assert replaced.pid != children[0].pid
        with _only(replaced, [replaced, children[1]]):
            await served.publish_project_created(base, subscribed)
        assert await _stored_events(runtime) == 3

        assert api.stop(signal.SIGTERM, timeout=40) == 0, api.errors
        assert all(_gone(child) for child in [replaced, children[1]])
        assert "every API process stopped; exiting 0" in api.errors
        (metrics_dir,) = re.findall(r"PROMETHEUS_MULTIPROC_DIR=(\S+)", api.errors)
        assert not Path(metrics_dir).exists()


async def test_the_api_processes_stop_on_their_own_when_the_parent_is_killed(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = served.environment(runtime, database_url, PROMETHEUS_MULTIPROC_DIR=str(metrics))
    argv = [*processes.HOOKYARD, "api", "--port", str(processes.free_port()), "--processes", "2"]
    with processes.running(argv, tmp_path, env) as api:
        await wait_until(lambda: api.errors.count(STARTED) == 2, 60, "two API processes")
        children = _children(api)
        assert len(children) == 2
        api.popen.kill()
        api.popen.wait(timeout=15)
        await wait_until(lambda: all(_gone(child) for child in children), 30, "no orphans")
    assert api.errors.count("the supervising hookyard process is gone; stopping") == 2
