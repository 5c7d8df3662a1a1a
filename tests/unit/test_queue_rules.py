"""The pure parts of the queue: a claim's room per host, a fan-out's rows, a try's record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard import models, retry
from hookyard.delivery import tries
from hookyard.store.queue import Claimed, ClaimRequest, NewEvent
from hookyard.store.queue.fanout import Fanout

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@given(
    limit=st.integers(min_value=1, max_value=500),
    per_host=st.integers(min_value=1, max_value=100),
    held=st.integers(min_value=0, max_value=200),
)
def test_a_claim_never_gives_a_host_more_than_its_room_or_the_limit(
    limit: int, per_host: int, held: int
) -> None:
    request = ClaimRequest(limit, 60, per_host=per_host, in_hand={"h:80": held})
    room = request.room("h:80")
    assert 0 <= room <= limit
    assert room + held <= max(per_host, held)
    assert room == max(0, min(limit, per_host - held))
    assert request.room("other:80") == min(limit, per_host)
    assert ("h:80" in request.full_hosts) == (room == 0)


def test_each_claim_leases_under_a_token_of_its_own_that_names_its_holder() -> None:
    request = ClaimRequest(10, 60, holder="host:42:ABCDEF")
    first, second = request.lease_token(), request.lease_token()
    assert first != second
    assert first.startswith("host:42:ABCDEF/")
    assert len(ClaimRequest(10, 60, holder="h" * 300).lease_token()) <= 128


def _event(key: str | None) -> NewEvent:
    return NewEvent("precon", "ProjectCreated", "c", "bu", "", b"{}", "pub", key)


def test_a_key_repeated_in_one_batch_or_already_stored_makes_no_new_event() -> None:
    plan = Fanout([_event("a"), _event("a"), _event("b"), _event(None)], NOW)
    assert plan.idempotency_keys() == [("pub", "a"), ("pub", "b")]
    existing = {("pub", "b"): "evt_stored"}
    routes = plan.routes(existing)
    rows = plan.rows(
        existing, {route: [("sub", "http://x.test/h", "client", "Active")] for route in routes}
    )
    first = rows.results[0].event_id
    assert [r.duplicate for r in rows.results] == [False, True, True, False]
    assert rows.results[1].event_id == first
    assert rows.results[2].event_id == "evt_stored"
    assert len(rows.events) == 2
    assert [d[3] for d in rows.deliveries] == ["x.test:80", "x.test:80"]


def _job(attempts: int) -> Claimed:
    return Claimed("dlv_1", "sub_1", "x.test:80", attempts, "http://x.test/h", b"{}", "s")


def test_the_try_that_spends_the_last_attempt_stops_the_record_with_its_reason() -> None:
    recorder = tries.Recorder(retry.Policy(max_attempts=5), lambda: NOW, lambda: 0.5)
    retried = recorder.not_sent(_job(0), ValueError("no key"))
    assert retried.state is models.DeliveryState.PENDING
    assert retried.stop_reason is None
    assert retried.error == "not sent: no key"
    last = recorder.not_sent(_job(4), ValueError("no key"))
    assert last.state is models.DeliveryState.FAILED
    assert last.stop_reason == "5 tries failed; the last one: not_sent: not sent: no key"


def test_a_row_that_does_not_read_is_not_sent_with_its_reason() -> None:
    job = Claimed.unreadable("dlv_1", "sub_1", "x.test:80", 0, ValueError("bad timestamp"))
    preparer = tries.Preparer(lambda stored, _record: stored, lambda: NOW)
    with pytest.raises(ValueError, match="bad timestamp"):
        preparer.request(job)
