"""Fixtures shared by every test: real databases and a real HTTP receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from _pytest.nodeid import NodeId
from hypothesis import settings as hypothesis_settings

from hookyard.cli import runtime as runtimes
from hookyard.config import Settings
from hookyard.store import Store
from tests import pgcheck
from tests.support import databases
from tests.support.receiver import Receiver

# No timing assertions in tests: a loaded 2-core machine must not fail a property by its speed.
hypothesis_settings.register_profile("hookyard", deadline=None)
hypothesis_settings.load_profile("hookyard")

DIALECTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Name each `xdist_group` in its test's id (`...@group`) on an xdist worker with
    `--dist loadgroup`, which is how the scheduler sends a group to one worker. pytest-xdist
    does it by setting `item._nodeid`, which pytest 9 no longer reads (ids live in `item._id`),
    so without this every group was silently spread over the workers."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        marks = item.iter_markers("xdist_group")
        groups = sorted(
            {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks}
        )
        if groups and "@" not in item.nodeid.rpartition("]")[2]:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return databases.sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    problem = pgcheck.postgres_problem()
    if problem is not None:
        if databases.in_ci():
            pytest.fail(f"PostgreSQL is required in CI: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    url = databases.create_postgres_database()
    yield url
    databases.drop_postgres_database(url)


@pytest.fixture(params=DIALECTS)
def database_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated, empty database of each dialect in turn."""
    if request.param == "sqlite":
        return databases.sqlite_copy(sqlite_template, tmp_path)
    url: str = request.getfixturevalue("postgres_database")
    databases.truncate_postgres(url)
    return url


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    """The test database's store, sealing secrets with the same keys as `runtime`."""
    store = Store.from_settings(settings)
    yield store
    await store.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = await Receiver.start()
    yield receiver
    await receiver.stop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for an in-process Hookyard on the test database (loopback callbacks allowed),
    signing tokens with keys of its own data directory even when the shell sets JWT keys."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_base_url="http://testserver",
        allow_private_callbacks=True,
        jwt_keys="",
        jwt_keys_file=None,
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[runtimes.Runtime]:
    wired = runtimes.build(settings)
    yield wired
    await wired.close()


@pytest.fixture
async def api(runtime: runtimes.Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client speaking to the real app in-process, on the real test database."""
    transport = httpx.ASGITransport(app=runtime.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
