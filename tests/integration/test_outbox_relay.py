"""The relay's decisions against a real HTTP server on 127.0.0.1 standing in for Hookyard's
ingest (it answers as each test scripts it): order per aggregate, a bad row refused with its
reason while the rest go on, the row's Idempotency-Key, and backing off while Hookyard fails.
The relay against a real Hookyard is in tests/e2e/test_outbox_e2e.py."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from hookyard import outbox
from hookyard.outbox import ingest
from hookyard.outbox.relay import Relay, RelayConfig
from hookyard.outbox.source import Source
from tests.support.receiver import Behaviour, Receiver

TOKEN = Behaviour(body=json.dumps({"access_token": "t-1", "expires_in": 3600}))
ACCEPTED = Behaviour(status=202, body=json.dumps({"eventId": "evt_1"}))
PRODUCT_PATH = "/events/api/v1/precon"


def _event(project: str) -> dict[str, str]:
    return {"eventType": "ProjectCreated", "companyId": "c-1", "projectId": project}


@pytest.fixture
def product_db(tmp_path: Path) -> Path:
    path = tmp_path / "product.db"
    connection = sqlite3.connect(path)
    outbox.create_table(connection)
    connection.close()
    return path


@pytest.fixture
async def relay(product_db: Path, receiver: Receiver) -> AsyncIterator[Relay]:
    receiver.answer("/identity/connect/token", TOKEN)
    receiver.answer(PRODUCT_PATH, ACCEPTED)
    source = Source(f"sqlite:///{product_db}")
    async with aiohttp.ClientSession() as session:
        sink = ingest.Ingest(session, receiver.url(""), "client", "secret")
        yield Relay(source, sink, RelayConfig(concurrency=4), jitter=lambda: 0.5)
    await source.close()


def _write(path: Path, *rows: tuple[str, dict[str, str], str]) -> list[str]:
    connection = sqlite3.connect(path)
    keys = [outbox.write(connection, "precon", event, aggregate=agg) for agg, event, _ in rows]
    connection.commit()
    connection.close()
    return keys


def _state(path: Path) -> list[tuple[str, str | None, str | None]]:
    """(event, event id, refused reason) of every row in id order."""
    connection = sqlite3.connect(path)
    rows = connection.execute(
        "SELECT event, event_id, refused_reason FROM hookyard_outbox ORDER BY id"
    ).fetchall()
    connection.close()
    return rows


def _posted(receiver: Receiver) -> list[str]:
    return [json.loads(r.body)["projectId"] for r in receiver.posts(PRODUCT_PATH)]


async def test_each_aggregate_is_published_in_order_with_its_rows_key(
    relay: Relay, receiver: Receiver, product_db: Path
) -> None:
    rows = [("a", _event(f"a{i}"), "") for i in range(5)] + [
        ("b", _event(f"b{i}"), "") for i in range(5)
    ]
    keys = _write(product_db, *rows)

    result = await relay.relay_once()

    assert result.published == 10
    assert result.unavailable is None
    posted = _posted(receiver)
    assert [p for p in posted if p.startswith("a")] == [f"a{i}" for i in range(5)]
    assert [p for p in posted if p.startswith("b")] == [f"b{i}" for i in range(5)]
    sent_keys = {
        json.loads(r.body)["projectId"]: r.headers["Idempotency-Key"]
        for r in receiver.posts(PRODUCT_PATH)
    }
    assert [sent_keys[f"a{i}"] for i in range(5)] == keys[:5]
    assert all(event_id == "evt_1" for _, event_id, _ in _state(product_db))
    assert await relay.relay_once() == type(result)()  # nothing left, nothing sent again
    assert len(receiver.posts(PRODUCT_PATH)) == 10


async def test_a_bad_row_is_refused_with_its_reason_and_the_rest_go_on(
    relay: Relay, receiver: Receiver, product_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(product_db, ("a", _event("a0"), ""))
    connection = sqlite3.connect(product_db)
    connection.execute(
        "INSERT INTO hookyard_outbox (aggregate, product, event, idempotency_key) "
        "VALUES ('a', 'precon', '{not json', 'k-bad'), ('a', 'precon', '[1]', 'k-list')"
    )
    connection.commit()
    connection.close()
    _write(product_db, ("a", _event("a3"), ""), ("a", _event("refused-by-hookyard"), ""))
    receiver.answer(
        PRODUCT_PATH,
        ACCEPTED,
        ACCEPTED,
        Behaviour(status=400, body=json.dumps({"detail": "projectId: must not be empty"})),
    )

    with caplog.at_level(logging.WARNING, "hookyard.outbox"):
        result = await relay.relay_once()

    assert (result.published, result.refused) == (2, 3)
    assert _posted(receiver) == ["a0", "a3", "refused-by-hookyard"]
    reasons = [reason for _, _, reason in _state(product_db)]
    assert reasons[0] is None
    assert reasons[3] is None
    assert reasons[1] is not None
    assert "JSON" in reasons[1] or "Expecting" in reasons[1]
    assert reasons[2] is not None
    assert "eventType" in reasons[2]
    assert reasons[4] == "HTTP 400: projectId: must not be empty"
    assert "HTTP 400: projectId: must not be empty" in caplog.text


async def test_while_hookyard_fails_rows_wait_in_order_and_passes_back_off(
    relay: Relay, receiver: Receiver, product_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(product_db, ("a", _event("a0"), ""), ("a", _event("a1"), ""))
    receiver.answer(PRODUCT_PATH, Behaviour(status=503), Behaviour(status=503), ACCEPTED)

    with caplog.at_level(logging.WARNING, "hookyard.outbox"):
        first = await relay.relay_once()
        first_delay = relay._pause(first)
        second = await relay.relay_once()
        delays = (first_delay, relay._pause(second))
    third = await relay.relay_once()

    assert first.unavailable == second.unavailable == "HTTP 503: no body"
    assert delays[0] == pytest.approx(0.5)
    assert delays[1] == pytest.approx(1.0)
    assert third.published == 2
    assert _posted(receiver) == ["a0", "a0", "a0", "a1"]
    assert "unavailable: HTTP 503" in caplog.text
    assert [event_id for _, event_id, _ in _state(product_db)] == ["evt_1", "evt_1"]


async def test_a_refused_token_is_a_clear_error(product_db: Path, receiver: Receiver) -> None:
    receiver.answer(
        "/identity/connect/token", Behaviour(status=400, body='{"error":"invalid_scope"}')
    )
    async with aiohttp.ClientSession() as session:
        sink = ingest.Ingest(session, receiver.url(""), "client", "secret")
        with pytest.raises(ingest.CredentialsRefused, match=r"invalid_scope.*events:publish"):
            await sink.publish("precon", "{}", "k")
