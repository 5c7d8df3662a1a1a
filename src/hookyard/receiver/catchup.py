"""Gap-free catch-up for a receiver: notice a missing `webhook-sequence` and fetch what was missed.

Every delivery to one (client, callback url) carries `webhook-sequence`: 1, 2, 3, ... in publish
order, with no gaps. A receiver that remembers what it has seen knows what it missed (it was
down past the five tries, or a delivery is still being retried) and can fetch those events from
`GET /hookyard/api/v1/subscriptions/events?url=...&after=N`, exactly as they are delivered
(body and signed headers), with its own client's credentials:

    gaps = Gaps()                                   # or Gaps(seen_up_to=N) from your storage
    event = webhook.verify(headers, body)
    if gaps.see(sequence_of(headers)):             # False: a duplicate, ignore it
        handle(event)
    if gaps.missing():
        async with CatchUp(base_url, client_id, client_secret) as catch_up:
            for missed in await catch_up.fill(callback_url, gaps, secret_key):
                handle(missed.event)

Uses aiohttp (a Hookyard dependency); nothing of the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp

from hookyard import errors
from hookyard.receiver import events, verification

SEQUENCE_HEADER = "webhook-sequence"
EVENTS_PATH = "/hookyard/api/v1/subscriptions/events"
PAGE_SIZE = 100


def sequence_of(headers: Mapping[str, str]) -> int:
    """The delivery's sequence number; InvalidInput when the header is missing or not a number."""
    lowered = {name.lower(): value for name, value in headers.items()}
    value = lowered.get(SEQUENCE_HEADER, "").strip()
    if not value.isascii() or not value.isdigit() or int(value) < 1:
        raise errors.InvalidInput.field(SEQUENCE_HEADER, "expected a positive whole number")
    return int(value)


@dataclass
class Gaps:
    """The sequence numbers of one callback url a receiver has seen.

    `seen_up_to` is the highest number below which everything was seen (store it to resume);
    numbers seen above it are kept until the gap under them is filled.
    """

    seen_up_to: int = 0
    _above: set[int] = field(default_factory=set)

    def see(self, sequence: int) -> bool:
        """Record `sequence`; False when it was seen before (a retry or a duplicate)."""
        if sequence <= self.seen_up_to or sequence in self._above:
            return False
        self._above.add(sequence)
        while self.seen_up_to + 1 in self._above:
            self.seen_up_to += 1
            self._above.remove(self.seen_up_to)
        return True

    @property
    def highest(self) -> int:
        return max(self._above, default=self.seen_up_to)

    def missing(self) -> list[int]:
        """Numbers below the highest seen that have not been seen, in order."""
        return [n for n in range(self.seen_up_to + 1, self.highest) if n not in self._above]


@dataclass(frozen=True)
class Missed:
    """One event as it was delivered: its sequence, signed headers, exact body and parsed event."""

    sequence: int
    headers: dict[str, str]
    body: bytes
    event: events.Event


class CatchUp:
    """Fetches a callback url's events after a sequence number, as the client that owns it."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._session = session
        self._owned = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: str | None = None

    async def __aenter__(self) -> CatchUp:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._owned and self._session is not None:
            await self._session.close()
            self._session = None

    async def pages(
        self, url: str, after: int, *, limit: int = PAGE_SIZE
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page of `url`'s events after `after`, as the API returns them, until the last."""
        while True:
            page = await self._get(url, after, limit)
            results: list[dict[str, Any]] = page["results"]
            if results:
                yield results
            if not page.get("hasNextPage") or not results:
                return
            after = int(page["nextAfter"])

    async def fill(
        self,
        url: str,
        gaps: Gaps,
        secret_key: str | Sequence[str],
        *,
        through: int | None = None,
    ) -> list[Missed]:
        """Fetch, verify and return (in order) the events of `url` that `gaps` misses, up to
        `through` (default: everything Hookyard has); each is marked seen in `gaps`.

        Raises WebhookVerificationFailed when a fetched event's signature does not check out.
        """
        found: list[Missed] = []
        async for page in self.pages(url, gaps.seen_up_to):
            for item in page:
                sequence = int(item["sequence"])
                if through is not None and sequence > through:
                    return found
                if sequence <= gaps.seen_up_to or sequence in gaps._above:
                    continue
                missed = _verified(item, secret_key)
                gaps.see(sequence)
                found.append(missed)
        return found

    async def _get(self, url: str, after: int, limit: int) -> dict[str, Any]:
        session = self._open()
        for _ in range(2):
            token = self._token or await self._fetch_token(session)
            async with session.get(
                f"{self._base}{EVENTS_PATH}",
                params={"url": url, "after": str(after), "limit": str(limit)},
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
            ) as response:
                if response.status == 401:
                    self._token = None
                    continue
                body: dict[str, Any] = await response.json(content_type=None)
                if response.status != 200:
                    raise errors.InvalidInput(
                        f"catch-up for {url}: HTTP {response.status}: {body.get('detail', body)}"
                    )
                return body
        raise errors.Unauthenticated("Hookyard refused the catch-up client's token twice")

    async def _fetch_token(self, session: aiohttp.ClientSession) -> str:
        async with session.post(
            f"{self._base}/identity/connect/token", data=self._form, timeout=self._timeout
        ) as response:
            body = await response.json(content_type=None)
        if response.status != 200:
            raise errors.Unauthenticated(f"Hookyard refused the catch-up client: {body}")
        self._token = str(body["access_token"])
        return self._token

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use `async with CatchUp(...) as catch_up:`")
        return self._session


def _verified(item: Mapping[str, Any], secret_key: str | Sequence[str]) -> Missed:
    """The fetched event, its signature checked (at its own timestamp: it came over an
    authenticated API, possibly long after it was signed)."""
    headers = {str(k): str(v) for k, v in dict(item["headers"]).items()}
    body = str(item["body"]).encode()
    stamp = headers.get("webhook-timestamp", "")
    signed_at = int(stamp) if stamp.isascii() and stamp.isdigit() else None
    event = verification.verify(secret_key, headers, body, now=signed_at)
    return Missed(int(item["sequence"]), headers, body, event)
