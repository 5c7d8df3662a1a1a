"""The private PostgreSQL cluster helper: starts, restarts on the same port, always cleans up."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.support import pgcluster

pytestmark = pytest.mark.skipif(pgcluster.problem() is not None, reason=str(pgcluster.problem()))


async def _answer(url: str) -> int:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        return int(await connection.fetchval("SELECT 1"))
    finally:
        await connection.close()


def test_a_private_cluster_restarts_on_its_port_and_is_removed_afterwards() -> None:
    with pgcluster.running() as cluster:
        url = cluster.create_database(migrated=False)
        assert asyncio.run(_answer(url)) == 1
        cluster.stop()
        with pytest.raises(ConnectionRefusedError):
            asyncio.run(_answer(url))
        cluster.start()
        assert asyncio.run(_answer(url)) == 1
        directory = cluster.directory
    assert not directory.exists()
