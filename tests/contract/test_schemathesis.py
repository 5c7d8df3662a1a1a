"""The served OpenAPI document, fuzzed by schemathesis against a real server: no 5xx, every
answer as documented. The server runs in a private network namespace (only `lo`), because the
fuzzer invents callback URLs that Hookyard then tries to challenge."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pgcheck
from tests.security import netns
from tests.support import databases

SOCKET_DIR = Path("/var/run/postgresql")
EXAMPLES = os.environ.get("HOOKYARD_FUZZ_EXAMPLES", "15")


@pytest.fixture(scope="module")
def namespace() -> Iterator[netns.Namespace]:
    problem = netns.problem()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"network namespaces are required in CI: {problem}")
        pytest.skip(problem)
    created = netns.create([], [])
    try:
        yield created
    finally:
        netns.remove(created)


def _over_socket(url: str) -> str:
    """The database's URL through the Unix socket (the namespace has no TCP path to it)."""
    name = url.rsplit("/", 1)[1]
    return f"postgresql+asyncpg://postgres@/{name}?host={SOCKET_DIR}"


@pytest.mark.netns
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    namespace: netns.Namespace, dialect: str
) -> None:
    created = ""
    if dialect == "postgres":
        if pgcheck.postgres_problem() is not None or not SOCKET_DIR.exists():
            if os.environ.get("CI") == "true":
                pytest.fail("PostgreSQL (and its Unix socket) is required in CI")
            pytest.skip("PostgreSQL over its Unix socket is not available")
        created = databases.create_postgres_database()
    try:
        database = _over_socket(created) if created else ""
        result = namespace.run_module("tests.contract.fuzz_server", database, EXAMPLES, timeout=540)
    finally:
        if created:
            databases.drop_postgres_database(created)
    assert result["server_errors"] == [], result
    assert result["returncode"] == 0, result["output"]
