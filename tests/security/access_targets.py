"""What the access table's cells aim at, made straight in the store (on the table's database, by
the test process) and read back from it: subscription records, failed deliveries, alert urls,
approval requests, and the snapshots a refused cell compares before and after.

Each helper is a coroutine for the world's loop (`World.run`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, select, update

from hookyard import clock, ids, models, signing
from hookyard.services import alerts
from hookyard.store import Store, schema
from hookyard.store.queue.fanout import callback_host

ACTIVE = models.SubscriptionStatus.ACTIVE
STOPPED = models.SubscriptionStatus.STOPPED
EVENT_TYPES = {
    "precon": ("ProjectCreated", "ProjectChanged"),
    "setups": ("EmployeeCreated", "EmployeeUpdated"),
    "heavyjob": ("CostCodeCreated", "CostCodeUpdated"),
}
ALERT_TYPE = alerts.STOPPED
NO_LIMIT = 1_000_000


@dataclass(frozen=True)
class Party:
    """Whose objects a cell aims at: a client acting for a company (`unit`: its Pre-Con unit)."""

    name: str
    client_id: str
    company_id: str
    unit: str


async def record(
    store: Store,
    party: Party,
    product: str,
    url: str,
    *,
    status: models.SubscriptionStatus = ACTIVE,
    stop_reason: str | None = None,
) -> models.Subscription:
    """One record of the product's first event type at `url` (Pre-Con: in the party's unit)."""
    now = clock.utcnow()
    made = models.Subscription(
        id=ids.guid(),
        product=product,
        company_id=party.company_id,
        client_id=party.client_id,
        partition_value=party.unit if product == "precon" else None,
        filter_value=None,
        event_type=EVENT_TYPES[product][0],
        callback_url=url,
        secret_key=signing.generate_secret(),
        status=status,
        date_created=now,
        status_changed_at=now,
        stop_reason=stop_reason,
    )
    await store.subscriptions.save([made], [], client_limit=NO_LIMIT)
    return made


async def alert(store: Store, party: Party, url: str, status: models.SubscriptionStatus) -> str:
    """An alert url of the party's client (the events about its own records); the url."""
    now = clock.utcnow()
    made = models.Subscription(
        id=ids.guid(),
        product=alerts.PRODUCT.key,
        company_id=party.company_id,
        client_id=party.client_id,
        partition_value=party.client_id,
        filter_value=None,
        event_type=ALERT_TYPE,
        callback_url=url,
        secret_key=signing.generate_secret(),
        status=status,
        date_created=now,
        status_changed_at=now,
        stop_reason=None,
    )
    await store.subscriptions.save([made], [], client_limit=NO_LIMIT)
    return url


async def failed_delivery(
    store: Store, made: models.Subscription, *, sequence: int | None = None
) -> str:
    """A delivery of `made` whose five tries failed (never claimed by a worker); its id."""
    now = clock.utcnow()
    event_id, delivery_id = ids.prefixed(ids.EVENT), ids.prefixed(ids.DELIVERY)
    body = {"companyId": made.company_id, "eventType": made.event_type, "id": ids.guid()}
    async with store.db.write() as connection:
        await connection.execute(
            insert(schema.events).values(
                id=event_id,
                product=made.product,
                event_type=made.event_type,
                company_id=made.company_id,
                partition_value=made.partition_value or "",
                filter_value="",
                body=json.dumps(body).encode(),
                publisher_id="access-table",
                created_at=now,
            )
        )
        await connection.execute(
            insert(schema.deliveries).values(
                id=delivery_id,
                event_id=event_id,
                subscription_id=made.id,
                host=callback_host(made.callback_url),
                state=models.DeliveryState.FAILED.value,
                attempts=5,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
                last_status=500,
                last_error="answered HTTP 500",
                sequence=sequence,
            )
        )
    return delivery_id


async def approval(store: Store, party: Party) -> str:
    """A pending request of the party's client for a host of its own; its id."""
    now = clock.utcnow()
    host = f"h{ids.ulid().lower()}.approvals.example"
    request = models.Approval(
        id=ids.prefixed(ids.APPROVAL),
        client_id=party.client_id,
        company_id=party.company_id,
        product="precon",
        host=host,
        callback_url=f"https://{host}/hook",
        status=models.ApprovalStatus.PENDING,
        requested_at=now,
        last_requested_at=now,
    )
    made, _new = await store.approvals.request(request)
    return made.id


# snapshots: what a refused cell must leave as it was


async def records_at(store: Store, party: Party, url: str) -> list[tuple[str, str, str]]:
    """The party's records of `url` in every product: (event type, status, secret key)."""
    return sorted(
        (r.event_type, r.status.value, r.secret_key)
        for r in await store.subscriptions.of_client(party.client_id)
        if r.callback_url == url
    )


async def anyone_at(store: Store, url: str) -> int:
    """How many live records (of any client) have `url`."""
    table = schema.subscriptions
    statement = select(func.count()).where(
        table.c.callback_url == url, table.c.status != models.SubscriptionStatus.DELETED.value
    )
    async with store.db.read() as connection:
        return int((await connection.execute(statement)).scalar_one())


async def record_state(store: Store, record_id: str) -> tuple[str, str, str | None]:
    found = await store.subscriptions.get(record_id)
    assert found is not None
    return found.status.value, found.secret_key, found.stop_reason


async def delivery_state(store: Store, delivery_id: str) -> tuple[str, int, int]:
    table = schema.deliveries
    statement = select(table.c.state, table.c.attempts, table.c.earlier_attempts).where(
        table.c.id == delivery_id
    )
    async with store.db.read() as connection:
        row = (await connection.execute(statement)).one()
    return row.state, row.attempts, row.earlier_attempts


async def deliveries_of(store: Store, record_id: str) -> int:
    table = schema.deliveries
    statement = select(func.count()).where(table.c.subscription_id == record_id)
    async with store.db.read() as connection:
        return int((await connection.execute(statement)).scalar_one())


async def approval_status(store: Store, approval_id: str) -> str:
    found = await store.approvals.get(approval_id)
    assert found is not None
    return found.status.value


async def published(store: Store, idempotency_key: str) -> int:
    """How many events were stored under this idempotency key (a batch's are numbered)."""
    table = schema.events
    statement = select(func.count()).where(table.c.idempotency_key.contains(idempotency_key))
    async with store.db.read() as connection:
        return int((await connection.execute(statement)).scalar_one())


async def live_sessions(store: Store, client_id: str) -> int:
    """The client's console sessions that have not ended."""
    table = schema.console_sessions
    statement = select(func.count()).where(
        table.c.client_id == client_id, table.c.expires_at > clock.utcnow()
    )
    async with store.db.read() as connection:
        return int((await connection.execute(statement)).scalar_one())


async def end_session(store: Store, token_hash: str) -> None:
    """Move one console session's end into the past (its time ran out)."""
    table = schema.console_sessions
    past = clock.utcnow() - timedelta(seconds=1)
    async with store.db.write() as connection:
        await connection.execute(
            update(table).where(table.c.token_hash == token_hash).values(expires_at=past)
        )
