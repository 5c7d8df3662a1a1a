"""Gap-free catch-up: a client fetches what was delivered (or is due) to one of its callback
urls after a sequence number, signed as a delivery is, so a receiver that missed some fetches
them without an operator.

Only the caller's own urls: a url it has no record of is 404, the same as one that does not
exist, so another tenant's events are never shown nor their existence revealed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hookyard import errors, signing
from hookyard.services.access import Access, Actor
from hookyard.store import Store

MAX_LIMIT = 1000
SEQUENCE_HEADER = "webhook-sequence"
JSON = "application/json"


@dataclass(frozen=True)
class Fetched:
    """One delivery as it is sent: headers (signed now) and the exact body."""

    sequence: int
    delivery_id: str
    event_id: str
    event_type: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Page:
    results: list[Fetched]
    has_next_page: bool

    @property
    def next_after(self) -> int | None:
        return self.results[-1].sequence if self.has_next_page else None


class CatchUpService:
    """Reads a url's numbered deliveries for the client that owns it."""

    def __init__(self, store: Store, *, now: Callable[[], float] = time.time) -> None:
        self._store = store
        self._access = Access(store)
        self._now = now

    async def events(self, actor: Actor, url: str, after: int, limit: int) -> Page:
        """The deliveries of `url` numbered above `after`, at most `limit` of them, of the
        actor's own records (a partner's in the companies connected to it now)."""
        if after < 0:
            raise errors.InvalidInput.field("after", "must be a whole number, 0 or more")
        if not 1 <= limit <= MAX_LIMIT:
            raise errors.InvalidInput.field("limit", f"must be 1 to {MAX_LIMIT}")
        stamp = int(self._now())
        reach = await self._access.reach(actor)
        client_id = actor.client_id or ""
        keys = await self._store.catchup.secret_keys(client_id, url, stamp, reach.company_list)
        if keys is None:
            raise errors.NotFound(
                f"You have no subscription with the url {url}; give a callback url of yours."
            )
        rows = await self._store.catchup.after(client_id, url, after, limit + 1, reach.company_list)
        results = [
            Fetched(
                row.sequence,
                row.delivery_id,
                row.event_id,
                row.event_type,
                {
                    **signing.headers(keys, row.delivery_id, stamp, row.body),
                    SEQUENCE_HEADER: str(row.sequence),
                    "content-type": JSON,
                },
                row.body,
            )
            for row in rows[:limit]
        ]
        return Page(results, has_next_page=len(rows) > limit)
