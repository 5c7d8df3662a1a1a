"""What becomes of one try: the request made of a claimed delivery, and the record of the try.

The worker decides here, not the store: a delivery whose secret does not unseal or whose stored
row does not read is a failed try with that reason (`not_sent`), retried like any other failure;
the try that spends the last attempt Stops the record (`Finished.stop_reason`).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import datetime

from hookyard import clock, metrics, models, retry
from hookyard.delivery import sender as sending
from hookyard.store.queue import Claimed, Finished

ERROR_CHARS = 1000
SECRET_CACHE = 4096

Unseal = Callable[[str, str], str]
"""The stored form of a subscription's secret key and the record id -> the secret key."""


class Preparer:
    """Claimed deliveries -> requests, opening each record's secrets once, not per delivery."""

    def __init__(self, unseal: Unseal, now: clock.Clock = clock.utcnow) -> None:
        self._unseal = unseal
        self._now = now
        self._opened: dict[tuple[str, str, str | None], tuple[str, str | None]] = {}

    def request(self, job: Claimed) -> sending.Request:
        """The signed request of `job`; raises when it cannot be made (the try is not sent)."""
        if job.problem is not None:
            raise ValueError(job.problem)
        current, previous = self._open(job)
        until = job.previous_secret_until
        keys: tuple[str, ...] = (current,)
        if previous is not None and until is not None and until > self._now():
            keys = (current, previous)
        return sending.Request(job.id, job.url, job.body, keys, job.sequence)

    def _open(self, job: Claimed) -> tuple[str, str | None]:
        key = (job.subscription_id, job.secret_key, job.previous_secret_key)
        found = self._opened.get(key)
        if found is None:
            if len(self._opened) >= SECRET_CACHE:
                self._opened.clear()
            current = self._unseal(job.secret_key, job.subscription_id)
            previous = job.previous_secret_key
            opened = None if previous is None else self._unseal(previous, job.subscription_id)
            found = self._opened[key] = (current, opened)
        return found


class Recorder:
    """Tries -> `Finished` records, with the retry policy's decision applied."""

    def __init__(
        self,
        policy: retry.Policy,
        now: clock.Clock = clock.utcnow,
        random_source: retry.Random = random.random,
    ) -> None:
        self._policy = policy
        self._now = now
        self._random = random_source

    def sent(self, job: Claimed, result: sending.Result) -> Finished:
        """The record of a try that was sent (or refused by the network guard)."""
        return self._finished(
            job,
            result.outcome,
            result.started_at,
            result.duration_ms,
            status=result.status_code,
            error=result.error,
            body=result.response_body,
            retry_after=result.retry_after,
        )

    def not_sent(self, job: Claimed, exc: BaseException) -> Finished:
        """The record of a try that could not be prepared: a failure with the reason."""
        reason = f"not sent: {exc}"[:ERROR_CHARS] or "not sent"
        now = self._now()
        return self._finished(job, models.Outcome.NOT_SENT, now, 0.0, error=reason)

    def _finished(
        self,
        job: Claimed,
        outcome: models.Outcome,
        started_at: datetime,
        duration_ms: float,
        *,
        status: int | None = None,
        error: str | None = None,
        body: str | None = None,
        retry_after: str | None = None,
    ) -> Finished:
        succeeded = outcome is models.Outcome.SUCCESS
        decision = retry.decide(
            self._policy,
            job.attempt,
            succeeded=succeeded,
            status=status,
            retry_after=retry_after,
            now=self._now(),
            random=self._random,
        )
        state, stop = _state(succeeded, decision.retry_at)
        finished = Finished(
            job.id,
            job.subscription_id,
            job.attempt,
            started_at,
            duration_ms,
            outcome,
            status,
            error,
            body,
            job.lease,
            state=state,
            retry_at=decision.retry_at,
            earlier_attempts=job.earlier_attempts,
            product=job.product,
        )
        if decision.stop_reason is not None:
            return dataclasses.replace(finished, stop_reason=decision.stop_reason)
        if stop:
            return _with_stop(finished)
        return finished


def result(finished: Finished) -> str:
    """What the try made of its delivery, as `hookyard_delivery_results` counts it."""
    if finished.state is models.DeliveryState.SUCCEEDED:
        return metrics.SUCCEEDED
    if finished.state is models.DeliveryState.PENDING:
        return metrics.RETRYING
    return metrics.GONE if finished.stop_reason == retry.GONE_REASON else metrics.EXHAUSTED


def _state(succeeded: bool, retry_at: datetime | None) -> tuple[models.DeliveryState, bool]:
    if succeeded:
        return models.DeliveryState.SUCCEEDED, False
    if retry_at is not None:
        return models.DeliveryState.PENDING, False
    return models.DeliveryState.FAILED, True


def _with_stop(finished: Finished) -> Finished:
    """The failure that spent the last try Stops its record, saying why."""
    code = finished.status_code
    last = f"HTTP {code}" if code is not None else finished.outcome.value
    detail = f": {finished.error}" if finished.error else ""
    reason = f"{finished.attempt} tries failed; the last one: {last}{detail}"[:ERROR_CHARS]
    return dataclasses.replace(finished, retry_at=None, stop_reason=reason)
