"""Inspecting deliveries, redelivering one, and recovering the held deliveries of a url.

Each operation takes an `Actor`; `services.access` says whose deliveries it reaches: an
integrator's own records', a partner's own in the companies connected to it now, every one for
the operator (the `hookyard:operator` role, or the CLI).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from hookyard import clock, errors, models
from hookyard.services.access import Access, Actor
from hookyard.store import Store
from hookyard.store.history import DeliveryRecord as DeliveryRecord
from hookyard.store.history import Query

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
        self._access = Access(store)
        self._on_recovered = on_recovered
        self._now = now

    async def list(
        self,
        actor: Actor,
        *,
        client_id: str | None = None,
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
        id of the previous page; `client_id` narrows the actor's reach to one client's."""
        if not 1 <= limit <= MAX_PAGE:
            raise errors.InvalidInput.field("limit", f"must be 1 to {MAX_PAGE}")
        if since is not None and until is not None and since >= until:
            raise errors.InvalidInput.field("until", "must be later than since")
        reach = (await self._access.reach(actor)).narrowed(client_id)
        query = Query(
            client_id=reach.client_id,
            companies=reach.company_list,
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

    async def get(
        self, actor: Actor, delivery_id: str, *, client_id: str | None = None
    ) -> DeliveryRecord:
        """One delivery with its attempts; NotFound unless the actor may see it (and it is
        `client_id`'s, when given)."""
        record = await self._store.history.get(delivery_id)
        reach = (await self._access.reach(actor)).narrowed(client_id)
        if record is None or not reach.covers(record.client_id, record.company_id):
            raise errors.NotFound(
                f"There is no delivery {delivery_id!r} for you; list deliveries to find its id."
            )
        return record

    async def redeliver(
        self, actor: Actor, delivery_id: str, *, client_id: str | None = None
    ) -> DeliveryRecord:
        """Queue a delivery for a new round of tries, whatever its state (unless being tried)."""
        record = await self.get(actor, delivery_id, client_id=client_id)
        if record.subscription_status is not models.SubscriptionStatus.ACTIVE:
            raise errors.Conflict(
                f"The subscription record of this delivery is {record.subscription_status.value};"
                " POST its url again to reactivate it, then redeliver."
            )
        if not await self._store.history.redeliver(delivery_id, now=self._now()):
            raise errors.Conflict(
                "This delivery is being tried right now; wait for the try to end and retry."
            )
        return await self.get(actor, delivery_id)

    async def recover(
        self, actor: Actor, callback_url: str, since: datetime, *, client_id: str | None = None
    ) -> int:
        """Queue again the held and failed deliveries of `callback_url` made since `since`."""
        if since.tzinfo is None:
            raise errors.InvalidInput.field("since", "give a time with a zone, e.g. ...Z")
        if not callback_url:
            raise errors.InvalidInput.field("url", "give the callback url to recover")
        reach = (await self._access.reach(actor)).narrowed(client_id)
        count = await self._store.history.recover(
            callback_url,
            since,
            now=self._now(),
            client_id=reach.client_id,
            companies=reach.company_list,
        )
        if self._on_recovered is not None:
            await self._on_recovered(reach.client_id, callback_url, since, count)
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
