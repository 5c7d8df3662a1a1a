"""A full disk under the database, on both dialects with the driver's real error: SQLite's
SQLITE_FULL from a tiny tmpfs filled to its last page, PostgreSQL's disk_full (SQLSTATE 53100)
raised by a trigger on `events`. A publish is refused with 503 and Retry-After, the console shows
a 503 page, the log gets one ERROR line naming the database and what to do (no traceback), and
once there is room again publishing works and nothing accepted before was lost."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from hookyard.cli.runtime import Runtime
from hookyard.config import Settings
from tests.support import console, tenancy
from tests.support.tenants import bearer, make_tenant, token

BU = "0b9a1d7e-5c1f-4b53-9a51-3a1e3f6a0001"
URL = "https://callback.example/hook"
CHUNK = b"\0" * 65536


class TinyDisk:
    """The SQLite database on a tmpfs of its own, which `fill` fills to the last page."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.url = f"sqlite+aiosqlite:///{file}"
        self.database = str(file)
        self._filler = file.parent / "filler"

    async def fill(self) -> None:
        # An empty WAL, so that the next commit must take pages the disk no longer has.
        with contextlib.closing(sqlite3.connect(self.file)) as connection:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "the checkpoint could not empty the WAL"
        descriptor = os.open(self._filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(descriptor, CHUNK)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
        finally:
            os.close(descriptor)

    async def free(self) -> None:
        self._filler.unlink(missing_ok=True)


@contextlib.contextmanager
def tmpfs(directory: Path, size: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("a tiny disk is a tmpfs, and mounting one needs root")
    directory.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)]
    mounted = subprocess.run(command, capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "--lazy", str(directory)], check=True)


TRIGGER = """
CREATE FUNCTION hookyard_test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'could not extend file "base/16384/16385": No space left on device'
        USING ERRCODE = 'disk_full';
END $$;
CREATE TRIGGER hookyard_test_disk_full BEFORE INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION hookyard_test_disk_full();
"""
UNTRIGGER = """
DROP TRIGGER IF EXISTS hookyard_test_disk_full ON events;
DROP FUNCTION IF EXISTS hookyard_test_disk_full();
"""


class FullTablespace:
    """The PostgreSQL test database, whose inserts into `events` fail as on a full disk."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.database = f"the PostgreSQL database {make_url(url).database} on "

    async def _execute(self, sql: str) -> None:
        dsn = make_url(self.url).set(drivername="postgresql").render_as_string(False)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def fill(self) -> None:
        await self._execute(TRIGGER)

    async def free(self) -> None:
        await self._execute(UNTRIGGER)


@pytest.fixture
async def disk(database_url: str, tmp_path: Path) -> AsyncIterator[TinyDisk | FullTablespace]:
    if not database_url.startswith("sqlite"):
        tablespace = FullTablespace(database_url)
        try:
            yield tablespace
        finally:
            await tablespace.free()
        return
    with tmpfs(tmp_path / "disk", "4m") as directory:
        file = directory / "hookyard.db"
        shutil.copyfile(make_url(database_url).database or "", file)
        tiny = TinyDisk(file)
        yield tiny
        await tiny.free()


@pytest.fixture
def settings(disk: TinyDisk | FullTablespace, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=disk.url,
        public_base_url="http://testserver",
        allow_private_callbacks=True,
    )


def _employee(company_id: str, item: str) -> dict[str, str]:
    return {
        "eventType": "EmployeeCreated",
        "companyId": company_id,
        "businessUnitId": BU,
        "id": item,
    }


def _told_the_operator_once(caplog: pytest.LogCaptureFixture, database: str) -> None:
    lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    (line,) = lines
    assert line.exc_info is None
    assert database in line.getMessage()
    assert "is full" in line.getMessage()
    assert "Free space on that disk" in line.getMessage()
    assert "Traceback" not in caplog.text


async def test_a_publish_on_a_full_disk_is_a_503_told_once_and_works_once_there_is_room(
    api: httpx.AsyncClient,
    runtime: Runtime,
    disk: TinyDisk | FullTablespace,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenant = await make_tenant(runtime)
    owner = tenancy.Tenant(tenant.company.id, tenant.client_id)
    await tenancy.subscribe(runtime.store, owner, "setups", "EmployeeCreated", URL)
    headers = bearer(await token(api, tenant.client_id, tenant.secret, "events:publish"))
    path = "/events/api/v1/setups"
    before = await api.post(path, json=_employee(tenant.company.id, "before"), headers=headers)
    assert before.status_code == 202

    await disk.fill()
    caplog.set_level(logging.DEBUG)
    refused = await api.post(path, json=_employee(tenant.company.id, "full"), headers=headers)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0
    assert "disk that holds Hookyard's database is full" in refused.json()["detail"]
    assert disk.database not in refused.text
    _told_the_operator_once(caplog, disk.database)

    await disk.free()
    after = await api.post(path, json=_employee(tenant.company.id, "after"), headers=headers)
    assert after.status_code == 202, after.text
    assert await runtime.store.events.count() == 2


async def test_the_console_shows_a_full_disk_as_a_503_page(
    api: httpx.AsyncClient,
    runtime: Runtime,
    disk: TinyDisk | FullTablespace,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenant = await make_tenant(runtime)
    record = await console.precon_record(runtime, tenant, URL)
    csrf = await console.signed_in(api, tenant.client_id, tenant.secret)
    form = {"csrf": csrf, "event_type": "ProjectCreated"}

    await disk.fill()
    caplog.set_level(logging.DEBUG)
    page = await api.post(f"/console/subscriptions/{record}/test", data=form)
    assert page.status_code == 503, page.text
    assert int(page.headers["Retry-After"]) > 0
    assert "storage is full" in page.text
    assert "Nothing was changed." in page.text
    _told_the_operator_once(caplog, disk.database)

    await disk.free()
    sent = await api.post(f"/console/subscriptions/{record}/test", data=form)
    assert sent.status_code == 303, sent.text
    assert await runtime.store.events.count() == 1
