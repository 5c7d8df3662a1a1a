"""Test events: an integrator exercises its receiver with an event of any event type of its
products, delivered (signed, with retries, like any other) to its own records of one url only.
It goes through the queue's ingest like any event, so its delivery takes the next
`webhook-sequence` of its (client, url).
A record of no catalog product (an alert url) gets none: Conflict.

The event's fields are the product's catalog fields: the business unit (or other partition) and
job filter come from the record, every other id is a fresh GUID, so a receiver can tell a test
event by ids it has never seen. It is never matched against other clients' subscriptions.
"""

from __future__ import annotations

import dataclasses
import logging

from hookyard import catalog, clock, errors, ids, models
from hookyard.services.access import Access, Actor
from hookyard.services.approvals import Approvals
from hookyard.services.events import new_event
from hookyard.store import Store
from hookyard.store.queue import Ingested, NewEvent, Target
from hookyard.store.subscriptions import Owner

log = logging.getLogger("hookyard.test_events")
PUBLISHER = "hookyard-console-test"
NOT_A_PRODUCT = (
    "Test events are for product subscriptions; alert urls get operational events "
    "(subscription.stopped, delivery.exhausted, ...), never test events. Nothing was sent."
)


class TestEvents:
    """Send test events to a client's own callback urls."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(
        self,
        store: Store,
        products: catalog.Catalog,
        *,
        public_base_url: str,
        approvals: Approvals,
        now: clock.Clock = clock.utcnow,
    ) -> None:
        self._store = store
        self._access = Access(store)
        self._approvals = approvals
        self._catalog = products
        self._base = public_base_url
        self._now = now

    async def send(self, actor: Actor, *, record_id: str, event_type: str) -> Ingested:
        """One `event_type` event to the url of record `record_id` (one the actor reaches);
        Forbidden for a product the actor has no scope for, or a host awaiting approval."""
        record = await self._access.record(actor, record_id)
        product = self._catalog.products.get(record.product)
        if product is None:  # an alert url: a record of the built-in product, not the catalog's
            raise errors.Conflict(NOT_A_PRODUCT)
        if not actor.is_operator and not actor.has_scope(product.scope):
            raise errors.Forbidden(
                f"Your client lacks the scope {product.scope}, so it may not receive "
                f"{product.name} events; ask the operator to grant it. Nothing was sent."
            )
        product.event_type(event_type)
        if record.status is not models.SubscriptionStatus.ACTIVE:
            raise errors.Conflict(
                f"This url is {record.status.value}; reactivate it first, then send a test event."
            )
        await self._approvals.gate(Owner.of(record), record.callback_url)
        target = Target(record.id, record.callback_url, record.client_id)
        event = dataclasses.replace(self._event(product, record, event_type), targets=(target,))
        (ingested,) = await self._store.queue.ingest([event], self._now())
        log.info(
            "test event sent",
            extra={"client_id": record.client_id, "event_id": ingested.event_id},
        )
        return ingested

    def _event(
        self, product: catalog.Product, record: models.Subscription, event_type: str
    ) -> NewEvent:
        values = {name: ids.guid() for name in product.required_fields(event_type)}
        if product.partition:
            values[product.partition] = record.partition_value or ids.guid()
        if product.filter and record.filter_value:
            values[product.filter.event_field] = record.filter_value
        return new_event(
            product,
            event_type,
            record.company_id,
            values,
            date=clock.isoformat(self._now()),
            base=self._base,
            publisher_id=PUBLISHER,
        )
