"""Listing and showing subscription records across products, with the reason a record was
Stopped: for Hookyard's own API (`/hookyard/api/v1/subscriptions`), the CLI and the console.
What an actor sees is `services.access`'s reach: its own records (a partner's in the companies
connected to it now), or every tenant's for the operator."""

from __future__ import annotations

from hookyard import errors, models
from hookyard.services.access import Access, Actor
from hookyard.store import Store
from hookyard.store.subscriptions import Search

MAX_PAGE = 1000


class SubscriptionSearch:
    """Read-only views of subscription records."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._access = Access(store)

    async def search(
        self,
        actor: Actor,
        *,
        client_id: str | None = None,
        company_id: str | None = None,
        product: str | None = None,
        status: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[models.Subscription]:
        """Records in id order (page with `after`, the last id of the previous page); Active
        and Stopped ones unless `status` names one (Active, Stopped, Deleted)."""
        if not 1 <= limit <= MAX_PAGE:
            raise errors.InvalidInput.field("limit", f"must be 1 to {MAX_PAGE}")
        reach = await self._access.reach(actor)
        if not reach.everything:
            if client_id not in (None, reach.client_id):
                raise errors.Forbidden(
                    "A client lists its own subscriptions only; drop clientId, or use a client "
                    "with the operator role (hookyard:operator)."
                )
            client_id = reach.client_id
        query = Search(
            client_id, company_id, product, _status(status), after, limit, reach.company_list
        )
        return await self._store.subscriptions.search(query)

    async def show(self, actor: Actor, subscription_id: str) -> models.Subscription:
        """One record (Deleted ones too); NotFound unless the actor reaches it."""
        record = await self._store.subscriptions.get(subscription_id)
        if record is None or not await self._access.covers(
            actor, record.client_id, record.company_id
        ):
            raise errors.NotFound(
                f"There is no subscription {subscription_id!r} for you; list them to find its id."
            )
        return record


def _status(value: str | None) -> models.SubscriptionStatus | None:
    if value is None or value == "":
        return None
    for status in models.SubscriptionStatus:
        if value.lower() == status.value.lower():
            return status
    valid = ", ".join(status.value for status in models.SubscriptionStatus)
    raise errors.InvalidInput.field("status", f"must be one of: {valid}; not {value!r}")
