"""Tries as a worker records them, for store tests that finish claimed deliveries by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from hookyard import models
from hookyard.clock import utcnow
from hookyard.store.queue import Claimed, Finished

LAST_TRY_REASON = "5 tries failed; the last one: HTTP 500"


def tried(
    job: Claimed,
    *,
    retry_in: float | None = None,
    stop: bool = False,
    started_at: datetime | None = None,
) -> Finished:
    """A try of `job` under its claim's lease: a success, a failure (HTTP 500) retried in
    `retry_in` seconds, or (`stop`) the failure that spends the last attempt and Stops the
    record."""
    now = utcnow()
    failed = stop or retry_in is not None
    state = models.DeliveryState.SUCCEEDED
    if failed:
        state = models.DeliveryState.FAILED if stop else models.DeliveryState.PENDING
    return Finished(
        delivery_id=job.id,
        subscription_id=job.subscription_id,
        attempt=job.attempt,
        started_at=started_at or now,
        duration_ms=3.0,
        outcome=models.Outcome.HTTP_ERROR if failed else models.Outcome.SUCCESS,
        status_code=500 if failed else 200,
        error="answered HTTP 500" if failed else None,
        response_body="",
        lease=job.lease,
        state=state,
        retry_at=None if retry_in is None else now + timedelta(seconds=retry_in),
        stop_reason=LAST_TRY_REASON if stop else None,
    )
