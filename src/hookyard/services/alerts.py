"""Operational events: `subscription.stopped`, `subscription.reactivated`, `delivery.exhausted`,
`delivery.recovered`, `subscription.approval_requested` and `subscription.recovered`, delivered
as signed webhooks through the same ingest and delivery engine as any product event.

They are the events of one product built here, not in the catalog (so it has no HCSS routes):
`hookyard`. Its subscription records are alert urls. The operator's belong to a built-in company
and client ("Hookyard operators", which can never get a token) and receive every event; a
client's own alert urls use the client's id as partition, so they receive the events about that
client's records only. Each event is one INFO log line too. Events about the alert urls' own
deliveries are logged but not sent, so a failing alert url cannot feed itself.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from hookyard import catalog, clock, errors, metrics, models
from hookyard.services.access import Actor
from hookyard.services.subscriptions import SubscriptionRequest, Subscriptions
from hookyard.store import Store
from hookyard.store.queue import Finished, NewEvent
from hookyard.store.stopped import StoppedUrl
from hookyard.store.subscriptions import Owner

log = logging.getLogger("hookyard.alerts")

STOPPED = "subscription.stopped"
REACTIVATED = "subscription.reactivated"
EXHAUSTED = "delivery.exhausted"
RECOVERED = "delivery.recovered"
APPROVAL_REQUESTED = "subscription.approval_requested"
URL_RECOVERED = "subscription.recovered"
EVENT_TYPES = (STOPPED, REACTIVATED, EXHAUSTED, RECOVERED, APPROVAL_REQUESTED, URL_RECOVERED)
OPERATOR_COMPANY = "00000000-0000-0000-0000-00000000a1e7"
OPERATOR_CLIENT = "hyc_operator_alerts"
PUBLISHER = "hookyard"
UNVERIFIABLE = "!"  # not an argon2 hash: no client secret ever verifies against it

PRODUCT = catalog.Product(
    key="hookyard",
    name="Hookyard operations",
    tag="Alerts",
    operation_prefix="Alerts",
    route="hookyard-alerts",
    scope="hookyard:admin",
    event_source="Hookyard",
    partition="clientId",
    filter=None,
    payload="flat",
    event_types={name: catalog.EventType(name, ()) for name in EVENT_TYPES},
)


@dataclass(frozen=True)
class AlertTarget:
    """One alert url: the event types it receives and the key that signs them.
    `client_id` None: the operator's."""

    url: str
    event_types: tuple[str, ...]
    client_id: str | None
    status: str
    stop_reason: str | None
    secret_key: str
    date_created: datetime


def _subscription_view(record: models.Subscription) -> dict[str, Any]:
    return {
        "id": record.id,
        "product": record.product,
        "companyId": record.company_id,
        "clientId": record.client_id,
        "eventType": record.event_type,
        "callbackUrl": record.callback_url,
        "status": record.status.value,
        "statusChangedAt": clock.isoformat(record.status_changed_at),
        "stopReason": record.stop_reason,
    }


class Alerts:
    """Alert urls (the operator's and the clients' own) and the operational events sent to them."""

    def __init__(
        self, store: Store, subscriptions: Subscriptions, *, now: clock.Clock = clock.utcnow
    ) -> None:
        self._store = store
        self._subscriptions = subscriptions
        self._now = now

    # alert urls

    async def targets(self, actor: Actor) -> list[AlertTarget]:
        """The actor's alert urls: the operator's (every tenant's events), or a client's own
        in its company (the events about its own records)."""
        owner = self._owner(actor)
        records = await self._store.subscriptions.listed(owner)
        return _targets(records, None if actor.is_operator else owner.client_id)

    async def add(
        self,
        actor: Actor,
        url: str,
        event_types: Sequence[str] | None = None,
        *,
        secret_key: str | None = None,
    ) -> AlertTarget:
        """Add (or change the event types of) an alert url after it answers the challenge;
        every event type when `event_types` is None."""
        owner = self._owner(actor)
        if actor.is_operator:
            await self._ensure_operator()
        names = list(EVENT_TYPES if event_types is None else event_types)
        request = SubscriptionRequest(url, names, secret_key)
        await self._subscriptions.subscribe(owner, PRODUCT, request, replace=True)
        found = [t for t in await self.targets(actor) if t.url == url]
        return found[0]

    async def remove(self, actor: Actor, url: str) -> int:
        """Stop sending operational events to `url`; NotFound when it is no alert url here."""
        return await self._subscriptions.unsubscribe(self._owner(actor), url)

    def _owner(self, actor: Actor) -> Owner:
        if actor.is_operator:
            return Owner(OPERATOR_CLIENT, PRODUCT.key, OPERATOR_COMPANY)
        if not actor.company_id or actor.client_id is None:
            raise errors.Forbidden(
                "Alert urls belong to a company's client; a partner adds them with a token for "
                "one company (grant_type=company with a CompanyId)."
            )
        return Owner(
            actor.client_id, PRODUCT.key, actor.company_id, partition_value=actor.client_id
        )

    async def _ensure_operator(self) -> None:
        """Make the built-in company and client on first use; a second process making them at
        the same time is fine (whichever insert loses finds the rows there)."""
        try:
            await self._add_operator()
        except Exception:
            if await self._store.tenants.client(OPERATOR_CLIENT) is None:
                raise

    async def _add_operator(self) -> None:
        if await self._store.tenants.client(OPERATOR_CLIENT) is not None:
            return
        now = self._now()
        if await self._store.tenants.company(OPERATOR_COMPANY) is None:
            company = models.Company(OPERATOR_COMPANY, "Hookyard operators (alert urls)", now)
            await self._store.tenants.add_company(company)
        client = models.Client(
            id=OPERATOR_CLIENT,
            name="Hookyard operators' alert urls (never issued a token)",
            company_id=OPERATOR_COMPANY,
            partner_id=None,
            scopes=(),
            business_units=(),
            secret_hash=UNVERIFIABLE,
            date_created=now,
            revoked_at=now,
        )
        await self._store.tenants.add_client(client)


class OperationalEvents:
    """Raises the operational events: a log line, and deliveries to the alert urls."""

    def __init__(self, store: Store, *, now: clock.Clock = clock.utcnow) -> None:
        self._store = store
        self._now = now

    async def raise_event(
        self,
        event_type: str,
        data: Mapping[str, Any],
        *,
        company_id: str | None,
        client_id: str | None,
    ) -> int:
        """Log the event, then queue it for the operator's alert urls and (with a company and
        client) the client's own; returns how many deliveries it made. Never raises: an alert
        must not fail what caused it."""
        log.info(
            "operational event %s: %s",
            event_type,
            _summary(event_type, data),
            extra={"event_type": event_type, "client_id": client_id},
        )
        metrics.OPERATIONAL_EVENTS.labels(event_type).inc()
        body = orjson.dumps(
            {"type": event_type, "timestamp": clock.isoformat(self._now()), "data": dict(data)}
        )
        events = [_event(event_type, OPERATOR_COMPANY, "", body)]
        if company_id and client_id:
            events.append(_event(event_type, company_id, client_id, body))
        try:
            ingested = await self._store.queue.ingest(events, self._now())
        except Exception:
            log.exception("queueing the operational event %s failed", event_type)
            return 0
        return sum(result.deliveries for result in ingested)

    async def _about(self, record: models.Subscription, event_type: str, **data: Any) -> None:
        view = {"subscription": _subscription_view(record), **data}
        if record.product == PRODUCT.key:
            log.info(
                "alert url %s: %s (not sent as an operational event)",
                record.callback_url,
                event_type,
            )
            return
        await self.raise_event(
            event_type, view, company_id=record.company_id, client_id=record.client_id
        )

    async def recorded(
        self, tries: Sequence[Finished], stopped: Collection[str] = frozenset()
    ) -> None:
        """After the worker recorded `tries`: `delivery.exhausted` for each whose last try
        failed (as the store now says), and `subscription.stopped` once for each record in
        `stopped`, the records whose Stop this batch recorded (`QueueBackend.finish`). A record
        Stopped already, by an earlier batch or another worker, is not announced again."""
        records: dict[str, models.Subscription | None] = {}
        for attempt in tries:
            found = await self._store.history.get(attempt.delivery_id)
            if found is None or found.delivery.state is not models.DeliveryState.FAILED:
                continue  # not recorded after all: it is tried again
            record = await self._record(records, attempt.subscription_id)
            if record is not None:
                await self._about(record, EXHAUSTED, delivery=_delivery_view(attempt))
        for key in sorted(stopped):
            record = await self._record(records, key)
            if record is not None:
                await self._about(record, STOPPED)

    async def _record(
        self, known: dict[str, models.Subscription | None], record_id: str
    ) -> models.Subscription | None:
        if record_id not in known:
            # Described, not read whole: an announcement never needs the record's secret, and
            # the record announced may be the one whose secret does not open.
            known[record_id] = await self._store.subscriptions.described(record_id)
        return known[record_id]

    async def reactivated(self, records: Sequence[models.Subscription]) -> None:
        """Stopped records made Active again: by a POST of their url, the console's Reactivate,
        a partner's reconnection or a passing probe of an `autoReactivate` url."""
        for record in records:
            await self._about(record, REACTIVATED)

    async def stopped(self, records: Sequence[models.Subscription]) -> None:
        """Records Stopped outside the worker (a company disconnected the partner's app)."""
        for record in records:
            await self._about(record, STOPPED)

    async def url_recovered(self, url: StoppedUrl, reactivated: bool, released: int) -> None:
        """A probe of a Stopped url passed: `subscription.recovered`, and when the client chose
        `autoReactivate` (so the records are Active again) `subscription.reactivated` too."""
        data = {
            "callbackUrl": url.callback_url,
            "subscriptionIds": list(url.record_ids),
            "reactivated": reactivated,
            "released": released,
        }
        await self.raise_event(
            URL_RECOVERED, data, company_id=url.company_id, client_id=url.client_id
        )
        if reactivated:
            found = [await self._store.subscriptions.get(key) for key in url.record_ids]
            await self.reactivated([r for r in found if r is not None and _active(r)])

    async def recovered(self, client_id: str | None, url: str, since: datetime, count: int) -> None:
        """`count` held and failed deliveries of `url` were queued again, by the client (or by
        the operator: `client_id` None, and only the operator's alert urls hear of it)."""
        if count <= 0:
            return
        data = {
            "callbackUrl": url,
            "since": clock.isoformat(since),
            "deliveries": count,
            "recoveredBy": client_id or "operator",
        }
        client = await self._store.tenants.client(client_id) if client_id else None
        company_id = client.company_id if client else None
        await self.raise_event(RECOVERED, data, company_id=company_id, client_id=client_id)

    async def approval_requested(self, approval: models.Approval) -> None:
        data = {
            "approval": {
                "id": approval.id,
                "host": approval.host,
                "callbackUrl": approval.callback_url,
                "product": approval.product,
                "requestedAt": clock.isoformat(approval.requested_at),
            },
            "clientId": approval.client_id,
            "companyId": approval.company_id,
        }
        await self.raise_event(
            APPROVAL_REQUESTED, data, company_id=approval.company_id, client_id=approval.client_id
        )


def _event(event_type: str, company_id: str, partition: str, body: bytes) -> NewEvent:
    return NewEvent(
        product=PRODUCT.key,
        event_type=event_type,
        company_id=company_id,
        partition_value=partition,
        filter_value="",
        body=body,
        publisher_id=PUBLISHER,
    )


def _active(record: models.Subscription) -> bool:
    return record.status is models.SubscriptionStatus.ACTIVE


def _delivery_view(attempt: Finished) -> dict[str, Any]:
    return {
        "id": attempt.delivery_id,
        "tries": attempt.attempt,
        "lastStatus": attempt.status_code,
        "lastOutcome": attempt.outcome.value,
        "lastError": attempt.error,
    }


def _summary(event_type: str, data: Mapping[str, Any]) -> str:
    subscription = data.get("subscription")
    if isinstance(subscription, Mapping):
        reason = f" ({subscription['stopReason']})" if subscription.get("stopReason") else ""
        return (
            f"{subscription['callbackUrl']} {subscription['eventType']} of client "
            f"{subscription['clientId']}{reason}"
        )
    approval = data.get("approval")
    if isinstance(approval, Mapping):
        return f"{approval['host']} for client {data['clientId']} ({approval['id']})"
    return ", ".join(f"{key}={value}" for key, value in data.items())


def _targets(records: Sequence[models.Subscription], client_id: str | None) -> list[AlertTarget]:
    by_url: dict[str, list[models.Subscription]] = {}
    for record in records:
        by_url.setdefault(record.callback_url, []).append(record)
    return [
        AlertTarget(
            url=url,
            event_types=tuple(r.event_type for r in group),
            client_id=client_id,
            status=_status(group),
            stop_reason=next((r.stop_reason for r in group if r.stop_reason), None),
            secret_key=group[0].secret_key,
            date_created=min(r.date_created for r in group),
        )
        for url, group in by_url.items()
    ]


def _status(group: Sequence[models.Subscription]) -> str:
    stopped = any(r.status is models.SubscriptionStatus.STOPPED for r in group)
    return (
        models.SubscriptionStatus.STOPPED.value
        if stopped
        else models.SubscriptionStatus.ACTIVE.value
    )
