"""Say which databases `make test` will use; with CI=true a missing PostgreSQL fails the run."""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("HOOKYARD_TEST_POSTGRES_URL", DEFAULT_URL)


async def _ping(url: str) -> str | None:
    try:
        connection = await asyncio.wait_for(asyncpg.connect(url), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        await connection.fetchval("SELECT 1")
    finally:
        await connection.close()
    return None


def postgres_problem() -> str | None:
    """None when the test PostgreSQL answers, else why not."""
    return asyncio.run(_ping(postgres_url()))


def main() -> int:
    problem = postgres_problem()
    if problem is None:
        print(f"PostgreSQL: using {postgres_url()}")
        return 0
    if os.environ.get("CI") == "true":
        print(f"PostgreSQL at {postgres_url()} is required in CI and unreachable: {problem}")
        return 1
    print(f"PostgreSQL at {postgres_url()} unreachable ({problem}); its tests will be skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
