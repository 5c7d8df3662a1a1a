"""Inspecting deliveries, redelivering one, and recovering the held deliveries of a url.

An integrator (`client_id` given) sees and acts on the deliveries of its own subscription records
only; the operator (`client_id` None, the `hookyard:admin` scope) sees all of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from hookyard import clock, errors, models
from hookyard.store import Store
from hookyard.store.history import DeliveryRecord, Query

MAX_PAGE = 1000
RecoveredHook = Callable[[str | None, str, datetime, int], Awaitable[None]]


class DeliveryService:
    """Delivery inspection and re-queueing."""

    def __init__(
        self,
        store: Store,
        *,
        on_recovered: RecoveredHook | None = None,
        now: clock.Clock = clock.utcnow,
    ) -> None:
        self._store = store
        self._on_recovered = on_recovered
        self._now = now

    async def list(
        self,
        client_id: str | None,
        *,
        state: str | None = None,
        callback_url: str | None = None,
        event_id: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before: str | None = None,
        limit: int = 100,
    ) -> list[DeliveryRecord]:
        """Deliveries newest first, made in [`since`, `until`) when given; `before` is the last
        id of the previous page."""
        if not 1 <= limit <= MAX_PAGE:
            raise errors.InvalidInput.field("limit", f"must be 1 to {MAX_PAGE}")
        if since is not None and until is not None and since >= until:
            raise errors.InvalidInput.field("until", "must be later than since")
        query = Query(
            client_id=client_id,
            state=_state(state),
            callback_url=callback_url,
            event_id=event_id,
            event_type=event_type,
            since=since,
            until=until,
            before=before,
            limit=limit,
        )
        return await self._store.history.list(query)

    async def get(self, client_id: str | None, delivery_id: str) -> DeliveryRecord:
        """One delivery with its attempts; NotFound unless the caller may see it."""
        record = await self._store.history.get(delivery_id)
        if record is None or (client_id is not None and record.client_id != client_id):
            raise errors.NotFound(
                f"There is no delivery {delivery_id!r} for you; list deliveries to find its id."
            )
        return record

    async def redeliver(self, client_id: str | None, delivery_id: str) -> DeliveryRecord:
        """Queue a delivery for a new round of tries, whatever its state (unless being tried)."""
        record = await self.get(client_id, delivery_id)
        if record.subscription_status is not models.SubscriptionStatus.ACTIVE:
            raise errors.Conflict(
                f"The subscription record of this delivery is {record.subscription_status.value};"
                " POST its url again to reactivate it, then redeliver."
            )
        if not await self._store.history.redeliver(delivery_id, now=self._now()):
            raise errors.Conflict(
                "This delivery is being tried right now; wait for the try to end and retry."
            )
        return await self.get(client_id, delivery_id)

    async def recover(self, client_id: str | None, callback_url: str, since: datetime) -> int:
        """Queue again the held and failed deliveries of `callback_url` made since `since`."""
        if since.tzinfo is None:
            raise errors.InvalidInput.field("since", "give a time with a zone, e.g. ...Z")
        if not callback_url:
            raise errors.InvalidInput.field("url", "give the callback url to recover")
        count = await self._store.history.recover(
            callback_url, since, now=self._now(), client_id=client_id
        )
        if self._on_recovered is not None:
            await self._on_recovered(client_id, callback_url, since, count)
        return count


def parse_time(name: str, text: str) -> datetime:
    """A time typed into a form: ISO 8601, read as UTC when it names no zone."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise errors.InvalidInput.field(
            name, f"{text!r} is not a time; write it like 2026-11-29T15:00 (UTC) or with a zone"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _state(value: str | None) -> models.DeliveryState | None:
    if value is None:
        return None
    try:
        return models.DeliveryState(value)
    except ValueError:
        valid = ", ".join(state.value for state in models.DeliveryState)
        raise errors.InvalidInput.field("state", f"must be one of: {valid}") from None
