"""The producer outbox end to end: a product database, `hookyard outbox relay` and `hookyard
serve` as real processes, a real receiver. Hookyard is down when the relay starts; a rolled-back
write is never published; the relay is SIGKILLed midway and restarted; every committed event
reaches the receiver exactly once."""

from __future__ import annotations

import json
import signal
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy

from hookyard import outbox
from hookyard.cli.runtime import Runtime
from tests.support import processes, served
from tests.support.receiver import Receiver, wait_until

pytestmark = pytest.mark.slow
EVENTS = 150


@contextmanager
def _product_engine(database_url: str, tmp_path: Path) -> Iterator[tuple[str, sqlalchemy.Engine]]:
    """The product's database: a SQLite file of its own, or the test's PostgreSQL database."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'product.db'}"
        engine = sqlalchemy.create_engine(url)
    else:
        url = database_url.replace("postgresql+asyncpg", "postgresql")
        engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        yield url, engine
    finally:
        engine.dispose()


def _drop(engine: sqlalchemy.Engine, table: str) -> None:
    """The PostgreSQL database is the test run's Hookyard database: leave it as found."""
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    engine.dispose()


def _published(engine: sqlalchemy.Engine, table: str) -> int:
    with engine.connect() as connection:
        query = f"SELECT count(*) FROM {table} WHERE event_id IS NOT NULL"  # noqa: S608
        return int(connection.exec_driver_sql(query).scalar_one())


async def test_committed_events_survive_a_killed_relay_and_hookyard_down(
    runtime: Runtime,
    database_url: str,
    receiver: Receiver,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    subscribed = await served.subscribed_tenant(runtime, receiver)
    event = served.project_created(subscribed)
    table = f"outbox_{uuid.uuid4().hex[:8]}"
    port = processes.free_port()
    base = f"http://127.0.0.1:{port}"
    relay_env = {
        "HOOKYARD_OUTBOX_CLIENT_ID": subscribed.tenant.client_id,
        "HOOKYARD_OUTBOX_CLIENT_SECRET": subscribed.tenant.secret,
        "HOOKYARD_OUTBOX_HOOKYARD_URL": base,
    }
    with _product_engine(database_url, tmp_path) as (url, engine):
        request.addfinalizer(lambda: _drop(engine, table))
        relay_args = [
            *processes.HOOKYARD, "outbox", "relay", "--database", url, "--table", table,
            "--backoff-cap", "0.5", "--poll-interval", "0.05", "--concurrency", "1",
        ]  # fmt: skip
        for name in ("relay-1", "relay-2", "serve"):
            (tmp_path / name).mkdir()
        with engine.begin() as connection:
            outbox.create_table(connection, table)
        with engine.begin() as connection:
            for number in range(EVENTS):
                project = {**event, "projectId": f"p-{number}"}
                outbox.write(
                    connection, "precon", project, aggregate=f"agg-{number % 4}", table=table
                )
        try:
            with engine.begin() as connection:
                outbox.write(
                    connection, "precon", {**event, "projectId": "rolled-back"}, table=table
                )
                raise RuntimeError("the product's transaction fails")
        except RuntimeError:
            pass
        with processes.running(relay_args, tmp_path / "relay-1", relay_env) as relay:
            await wait_until(lambda: "unavailable" in relay.errors, 30, "the relay backing off")
            serve_args = [*processes.HOOKYARD, "serve", "--port", str(port)]
            env = served.environment(runtime, database_url)
            with processes.running(serve_args, tmp_path / "serve", env) as server:
                await server.wait_until_answering(f"{base}/healthz")
                await wait_until(lambda: _published(engine, table) >= 3, 30, "a few published")
                relay.popen.send_signal(signal.SIGKILL)
                relay.popen.wait(timeout=15)
                assert _published(engine, table) < EVENTS, "the relay was not killed midway"
                with processes.running(relay_args, tmp_path / "relay-2", relay_env) as again:
                    await wait_until(
                        lambda: _published(engine, table) == EVENTS, 60, "all published"
                    )
                    await receiver.wait_for(
                        lambda: len(receiver.posts()) >= EVENTS, 60, "deliveries"
                    )
                    assert again.stop() == 0, again.errors
    delivered = Counter(json.loads(r.body)["data"]["projectId"] for r in receiver.posts())
    assert delivered == Counter({f"p-{number}": 1 for number in range(EVENTS)})


def test_the_ddl_command_prints_the_table_for_each_dialect(tmp_path: Path) -> None:
    import subprocess

    for dialect in ("sqlite", "postgresql"):
        printed = subprocess.run(
            [*processes.HOOKYARD, "outbox", "ddl", "--dialect", dialect],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout  # fmt: skip
        assert "CREATE TABLE IF NOT EXISTS hookyard_outbox" in printed
        if dialect == "sqlite":
            connection = sqlite3.connect(tmp_path / "product.db")
            connection.executescript(printed)
            outbox.write(connection, "precon", {"eventType": "ProjectCreated"})
            connection.commit()
            assert connection.execute("SELECT count(*) FROM hookyard_outbox").fetchone() == (1,)
            connection.close()
    refused = subprocess.run(
        [*processes.HOOKYARD, "outbox", "ddl", "--table", "x; DROP TABLE y"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "outbox table name" in refused.stderr
