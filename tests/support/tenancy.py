"""Test data: a company, a client and subscription records inserted straight through the store.

The subscriptions API has its own tests; delivery tests only need rows to match against.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update

from hookyard import ids, models, signing
from hookyard.clock import utcnow
from hookyard.store import Store, schema


@dataclass(frozen=True)
class Tenant:
    company_id: str
    client_id: str


async def add_tenant(
    store: Store, *, scopes: str = "precon:read dis:read heavyjob:read", unit: str | None = None
) -> Tenant:
    """A company with an all-units client (and the business unit `unit`, when given)."""
    now = utcnow()
    company = models.Company(ids.guid(), f"Company {ids.ulid()}", now)
    await store.tenants.add_company(company)
    client = models.Client(
        id=ids.prefixed(ids.CLIENT),
        name="integrator",
        company_id=company.id,
        partner_id=None,
        scopes=tuple(scopes.split()),
        business_units=(models.ALL_BUSINESS_UNITS,),
        secret_hash="x",
        date_created=now,
        revoked_at=None,
    )
    await store.tenants.add_client(client)
    tenant = Tenant(company.id, client.id)
    if unit is not None:
        await add_unit(store, tenant, unit)
    return tenant


async def add_unit(store: Store, tenant: Tenant, unit_id: str | None = None) -> str:
    """A business unit of the tenant's company (publishing checks that it exists); its id."""
    unit_id = unit_id or ids.guid()
    code = f"BU-{ids.ulid()}"
    unit = models.BusinessUnit(unit_id, tenant.company_id, code, code, ids.guid(), utcnow())
    await store.tenants.add_business_unit(unit)
    return unit_id


async def subscribe(
    store: Store,
    tenant: Tenant,
    product: str,
    event_type: str,
    url: str,
    *,
    partition: str = "",
    filter_value: str = "",
    secret: str | None = None,
    status: models.SubscriptionStatus = models.SubscriptionStatus.ACTIVE,
) -> str:
    """One subscription record; its id."""
    now = utcnow()
    record_id = ids.guid()
    async with store.db.write() as connection:
        await connection.execute(
            insert(schema.subscriptions).values(
                id=record_id,
                product=product,
                company_id=tenant.company_id,
                client_id=tenant.client_id,
                partition_value=partition,
                filter_value=filter_value,
                event_type=event_type,
                callback_url=url,
                secret_key=secret or signing.generate_secret(),
                status=status.value,
                date_created=now,
                status_changed_at=now,
                stop_reason=None,
            )
        )
    return record_id


async def subscription_status(store: Store, record_id: str) -> tuple[str, str | None]:
    table = schema.subscriptions
    async with store.db.read() as connection:
        statement = select(table.c.status, table.c.stop_reason).where(table.c.id == record_id)
        row = (await connection.execute(statement)).one()
    return row.status, row.stop_reason


async def reactivate(store: Store, record_id: str) -> None:
    """What a POST of the same url does to a Stopped record (subscriptions API)."""
    table = schema.subscriptions
    async with store.db.write() as connection:
        await connection.execute(
            update(table)
            .where(table.c.id == record_id)
            .values(status="Active", status_changed_at=utcnow(), stop_reason=None)
        )


async def delivery_states(store: Store) -> dict[str, str]:
    table = schema.deliveries
    async with store.db.read() as connection:
        rows = (await connection.execute(select(table.c.id, table.c.state))).all()
    return {row.id: row.state for row in rows}


async def set_status(store: Store, record_id: str, status: str) -> None:
    table = schema.subscriptions
    async with store.db.write() as connection:
        await connection.execute(update(table).where(table.c.id == record_id).values(status=status))
