"""Hookyard's ingest as the relay sees it: a token, one publish, and what came of it.

Every answer is sorted into one of three outcomes: `Published` (202, with the event id),
`Refused` (Hookyard says this event is wrong: 400, 403, 404, 409, 413, 422; retrying cannot help)
or `Unavailable` (connection error, timeout, 429, 5xx, an expired token: try again later).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import aiohttp

TOKEN_SCOPE = "events:publish"  # noqa: S105 - a scope name, not a secret
REFUSED_STATUSES = frozenset({400, 403, 404, 409, 413, 422})


@dataclass(frozen=True)
class Published:
    event_id: str


@dataclass(frozen=True)
class Refused:
    reason: str


@dataclass(frozen=True)
class Unavailable:
    reason: str


Outcome = Published | Refused | Unavailable


class CredentialsRefused(Exception):
    """Hookyard will not issue a token for these credentials: nothing can be relayed."""


class Ingest:
    """Publishes events to one Hookyard as one API client (`events:publish`)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 10.0,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": TOKEN_SCOPE,
        }
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: str | None = None
        self._token_expires = 0.0

    async def publish(self, product: str, event: str, idempotency_key: str) -> Outcome:
        """POST one event (already JSON) with its Idempotency-Key."""
        try:
            token = await self._access_token()
            return await self._post(product, event, idempotency_key, token)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Unavailable(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)

    async def _post(self, product: str, event: str, key: str, token: str) -> Outcome:
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        }
        url = f"{self._base}/events/api/v1/{product}"
        async with self._session.post(
            url, data=event.encode(), headers=headers, timeout=self._timeout
        ) as response:
            body = await response.text()
        if response.status == 202:
            return Published(str(json.loads(body).get("eventId", "")))
        if response.status == 401:
            self._token = None
            return Unavailable("HTTP 401: the access token was refused; a new one is fetched")
        reason = f"HTTP {response.status}: {_detail(body)}"
        return Refused(reason) if response.status in REFUSED_STATUSES else Unavailable(reason)

    async def _access_token(self) -> str:
        if self._token is not None and time.monotonic() < self._token_expires:
            return self._token
        async with self._session.post(
            f"{self._base}/identity/connect/token",
            data=self._form,
            timeout=self._timeout,
        ) as response:
            body = await response.text()
        if response.status in (400, 401):
            raise CredentialsRefused(
                f"Hookyard refused the relay's client ({_detail(body)}); give a client id and "
                f"secret whose client holds {TOKEN_SCOPE}"
            )
        if response.status != 200:
            raise aiohttp.ClientResponseError(
                response.request_info, (), status=response.status, message=_detail(body)
            )
        issued = json.loads(body)
        self._token = str(issued["access_token"])
        self._token_expires = time.monotonic() + max(30.0, float(issued["expires_in"]) - 60.0)
        return self._token


def _detail(body: str) -> str:
    """The problem+json `detail` (or OAuth `error`), else the start of the body."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body[:200] or "no body"
    if isinstance(parsed, dict):
        for key in ("detail", "error_description", "error", "title"):
            if isinstance(parsed.get(key), str):
                return str(parsed[key])[:300]
    return body[:200]


__all__ = ["CredentialsRefused", "Ingest", "Outcome", "Published", "Refused", "Unavailable"]
