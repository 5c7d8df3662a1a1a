"""A private PostgreSQL cluster for tests that stop, restart or break the database server.

Never touch the machine's shared server (127.0.0.1:5432): other test runs use it. A `Cluster`
is a fresh `initdb` in a temporary directory, run by `pg_ctl` as the `postgres` OS user (when the
tests run as root; as the current user otherwise), listening on a free loopback port with its
socket in its own directory. It is always stopped and removed at teardown, even when a test
fails (and at interpreter exit, should a teardown be skipped).

    with pgcluster.running() as cluster:
        url = cluster.create_database()      # postgresql://postgres@127.0.0.1:PORT/NAME, migrated
        cluster.restart()                    # pg_ctl restart -m fast; back when it accepts
        cluster.stop(); cluster.start()      # an outage of any length
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from hookyard.store import migrate

TIMEOUT_SECONDS = 60
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    " -c full_page_writes=off -c shared_buffers=32MB -c max_connections=60"
)


def binaries() -> Path | None:
    """The newest PostgreSQL server binaries on this machine, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """One private PostgreSQL server: its directory, port and `pg_ctl`."""

    def __init__(self, bin_dir: Path, directory: Path) -> None:
        self._bin = bin_dir
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "server.log"
        self.port = free_port()
        self._user = _run_as()
        self.running = False

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def start(self) -> None:
        """Start the server (again), on the same port; returns once it accepts connections."""
        options = f"-p {self.port} -k {self.directory} {SERVER_OPTIONS}"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`mode`: smart, fast or immediate); connections are cut."""
        if not self.running:
            return
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    def restart(self, mode: str = "fast") -> None:
        """`pg_ctl restart`: every connection is cut; returns once it accepts again."""
        self.stop(mode)
        self.start()

    def create_database(self, *, migrated: bool = True) -> str:
        """A new database on this cluster (migrated to head unless told); its URL."""
        name = f"hookyard_{uuid.uuid4().hex[:10]}"
        asyncio.run(_execute(self.admin_url, f'CREATE DATABASE "{name}"'))
        url = f"postgresql://postgres@127.0.0.1:{self.port}/{name}"
        if migrated:
            migrate.upgrade_sync(url)
        return url

    def destroy(self) -> None:
        """Stop the server at once and remove its directory."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def _pg(self, program: str, *args: str) -> None:
        command = [str(self._bin / program), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        subprocess.run(
            command,
            check=True,
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            cwd=self.directory,
        )


def _run_as() -> str | None:
    """`postgres` when running as root (the server refuses to run as root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return "postgres"


async def _execute(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url, timeout=TIMEOUT_SECONDS)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def problem() -> str | None:
    """Why a private cluster cannot be made here, or None when it can."""
    if binaries() is None:
        return "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0 and _run_as() is None:
        return "running as root and there is no `postgres` user to run the server as"
    return None


@contextlib.contextmanager
def running() -> Iterator[Cluster]:
    """A started private cluster, stopped and removed when the block ends."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError(problem())
    directory = Path(tempfile.mkdtemp(prefix="hookyard-pg-"))
    user = _run_as()
    if user is not None:
        record = pwd.getpwnam(user)
        os.chown(directory, record.pw_uid, record.pw_gid)
    cluster = Cluster(bin_dir, directory)
    atexit.register(cluster.destroy)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
        atexit.unregister(cluster.destroy)
