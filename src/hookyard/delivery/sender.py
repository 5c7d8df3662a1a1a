"""One try of one delivery: a signed POST in, an outcome out. No database work here.

Success is any 2xx within the timeout. Everything else is a failure with a reason: another status
(a 3xx too: redirects are not followed), a timeout, a connection or TLS error, or an address the
network guard refuses. The first 4 KiB of the response body are kept for the attempt record.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime

import aiohttp

from hookyard import clock, errors, models, signing
from hookyard.delivery import http

BODY_LIMIT = 4096
JSON = "application/json"
SEQUENCE_HEADER = "webhook-sequence"


@dataclass(frozen=True)
class Request:
    """What to send: the same `delivery_id` (the `webhook-id`) and body on every try;
    `sequence` (the `webhook-sequence` header) is the delivery's number for its (client, url)."""

    delivery_id: str
    url: str
    body: bytes
    secrets: tuple[str, ...]
    sequence: int | None = None


@dataclass(frozen=True)
class Result:
    """How one try went."""

    outcome: models.Outcome
    started_at: datetime
    duration_ms: float
    status_code: int | None = None
    error: str | None = None
    response_body: str | None = None
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome is models.Outcome.SUCCESS


@dataclass(frozen=True)
class _Answer:
    status: int
    body: str
    retry_after: str | None
    location: str | None


class Sender:
    """Sends tries through one guarded session (`hookyard.delivery.http.client_session`)."""

    def __init__(
        self, session: aiohttp.ClientSession, *, timeout: float, now: clock.Clock = clock.utcnow
    ) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._timeout_seconds = timeout
        self._now = now

    async def send(self, request: Request) -> Result:
        """Make one try; never raises for anything the callback or the network does."""
        started_at = self._now()
        began = time.perf_counter()
        headers = signing.headers(
            request.secrets, request.delivery_id, int(started_at.timestamp()), request.body
        )
        headers["Content-Type"] = JSON
        if request.sequence is not None:
            headers[SEQUENCE_HEADER] = str(request.sequence)
        try:
            answer = await self._post(request, headers)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            error = f"timed out after {self._timeout_seconds:g} s"
            return self._failure(models.Outcome.TIMEOUT, started_at, began, error)
        except errors.AddressNotAllowed as exc:
            return self._failure(models.Outcome.ADDRESS_NOT_ALLOWED, started_at, began, exc.detail)
        except aiohttp.ClientError as exc:
            refused = _refusal(exc)
            if refused is not None:
                outcome = models.Outcome.ADDRESS_NOT_ALLOWED
                return self._failure(outcome, started_at, began, refused.detail)
            error = _describe(exc)
            return self._failure(models.Outcome.CONNECTION_ERROR, started_at, began, error)
        return _result(answer, started_at, _elapsed(began))

    async def _post(self, request: Request, headers: dict[str, str]) -> _Answer:
        async with http.request(
            self._session,
            "POST",
            request.url,
            data=request.body,
            headers=headers,
            timeout=self._timeout,
        ) as response:
            body = await http.read_prefix(response, BODY_LIMIT)
            return _Answer(
                response.status,
                body.decode("utf-8", errors="replace"),
                response.headers.get("Retry-After"),
                response.headers.get("Location"),
            )

    def _failure(
        self, outcome: models.Outcome, started_at: datetime, began: float, error: str
    ) -> Result:
        return Result(outcome, started_at, _elapsed(began), error=error)


def _elapsed(began: float) -> float:
    return (time.perf_counter() - began) * 1000.0


def _result(answer: _Answer, started_at: datetime, duration_ms: float) -> Result:
    if 200 <= answer.status < 300:
        outcome, error = models.Outcome.SUCCESS, None
    elif 300 <= answer.status < 400:
        target = f" to {answer.location}" if answer.location else ""
        outcome, error = models.Outcome.HTTP_ERROR, f"redirect{target} not followed"
    else:
        outcome, error = models.Outcome.HTTP_ERROR, f"answered HTTP {answer.status}"
    return Result(
        outcome,
        started_at,
        duration_ms,
        status_code=answer.status,
        error=error,
        response_body=answer.body,
        retry_after=answer.retry_after,
    )


def _refusal(exc: BaseException) -> errors.AddressNotAllowed | None:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, errors.AddressNotAllowed):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def _describe(exc: aiohttp.ClientError) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        number = exc.os_error.errno
        reason = os.strerror(number).lower() if number else str(exc.os_error)
        return f"connection failed: {reason}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the connection was closed before a response arrived"
    return f"connection error: {type(exc).__name__}: {exc}"
