"""The subscription repository on both databases."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from hookyard import errors, ids, models
from hookyard.store import Store
from hookyard.store.subscriptions import DISCONNECTED, Owner

NOW = datetime(2026, 11, 29, 6, 0, 0, 123456, tzinfo=UTC)
ACTIVE = models.SubscriptionStatus.ACTIVE
STOPPED = models.SubscriptionStatus.STOPPED
DELETED = models.SubscriptionStatus.DELETED
URL = "https://hooks.example.com/a?x=1"
KEY = "c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1sb25nLW9rISE="


async def _company(store: Store, name: str) -> str:
    company = models.Company(ids.guid(), name, NOW)
    await store.tenants.add_company(company)
    return company.id


async def _client(store: Store, company_id: str | None, partner_id: str | None = None) -> str:
    client = models.Client(
        id=ids.prefixed(ids.CLIENT).lower(),
        name="client",
        company_id=company_id,
        partner_id=partner_id,
        scopes=("precon:read",),
        business_units=(models.ALL_BUSINESS_UNITS,),
        secret_hash="x",
        date_created=NOW,
        revoked_at=None,
    )
    await store.tenants.add_client(client)
    return client.id


def _record(owner: Owner, event_type: str, **changes: object) -> models.Subscription:
    record = models.Subscription(
        id=ids.guid(),
        product=owner.product,
        company_id=owner.company_id,
        client_id=owner.client_id,
        partition_value=owner.partition_value or None,
        filter_value=None,
        event_type=event_type,
        callback_url=URL,
        secret_key=KEY,
        status=ACTIVE,
        date_created=NOW,
        status_changed_at=NOW,
        stop_reason=None,
    )
    # Any of the record's fields, by name: `replace` checks them when it runs.
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def owner(store: Store) -> Owner:
    company_id = await _company(store, "Acme")
    client_id = await _client(store, company_id)
    return Owner(client_id, "precon", company_id, ids.guid())


async def test_saved_records_read_back_whole(store: Store, owner: Owner) -> None:
    job = ids.guid()
    first = _record(owner, "ProjectCreated", filter_value=job)
    second = _record(
        owner,
        "ProjectChanged",
        status=STOPPED,
        stop_reason="5 tries failed",
        previous_secret_key="b2xkLWtleS1vZi1zaXh0ZWVuIQ==",
        previous_secret_until=NOW + timedelta(hours=24),
        date_created=NOW + timedelta(seconds=1),
    )
    gone = _record(owner, "ProjectDeleted", status=DELETED)
    await store.subscriptions.save([first, second, gone], [], client_limit=10)
    assert await store.subscriptions.listed(owner) == [first, second]
    oldest = sorted([first, gone], key=lambda record: record.id)
    assert await store.subscriptions.of_url(owner, URL) == [*oldest, second]
    assert await store.subscriptions.get(second.id) == second
    assert await store.subscriptions.count_live(owner.client_id) == 2


async def test_listed_is_limited_to_the_owner(store: Store, owner: Owner) -> None:
    other_unit = dataclasses.replace(owner, partition_value=ids.guid())
    other_product = dataclasses.replace(owner, product="setups", partition_value="")
    for where in (owner, other_unit, other_product):
        await store.subscriptions.save([_record(where, "ProjectCreated")], [], client_limit=10)
    listed = await store.subscriptions.listed(owner)
    assert [r.partition_value for r in listed] == [owner.partition_value]
    assert await store.subscriptions.of_url(other_unit, "https://elsewhere.example") == []


async def test_changed_records_get_their_new_status_and_secret(store: Store, owner: Owner) -> None:
    record = _record(owner, "ProjectCreated")
    await store.subscriptions.save([record], [], client_limit=10)
    later = NOW + timedelta(minutes=5)
    changed = dataclasses.replace(
        record,
        status=STOPPED,
        status_changed_at=later,
        stop_reason="failed",
        secret_key="bmV3LWtleS1vZi1zaXh0ZWVuIQ==",
        previous_secret_key=KEY,
        previous_secret_until=later + timedelta(hours=1),
    )
    await store.subscriptions.save([], [changed], client_limit=10)
    assert await store.subscriptions.get(record.id) == changed


async def test_a_duplicate_record_is_a_conflict_and_nothing_is_kept(
    store: Store, owner: Owner
) -> None:
    await store.subscriptions.save([_record(owner, "ProjectCreated")], [], client_limit=10)
    fresh = _record(owner, "ProjectChanged")
    with pytest.raises(errors.Conflict, match="send the request again"):
        await store.subscriptions.save(
            [fresh, _record(owner, "ProjectCreated")], [], client_limit=10
        )
    assert await store.subscriptions.get(fresh.id) is None


async def test_the_client_limit_is_checked_inside_the_transaction(
    store: Store, owner: Owner
) -> None:
    await store.subscriptions.save([_record(owner, "ProjectCreated")], [], client_limit=2)
    more = [_record(owner, "ProjectChanged"), _record(owner, "ProjectDeleted")]
    with pytest.raises(errors.InvalidInput, match="at most 2"):
        await store.subscriptions.save(more, [], client_limit=2)
    assert await store.subscriptions.count_live(owner.client_id) == 1
    deleted = _record(owner, "SchemaChanged", status=DELETED)
    await store.subscriptions.save([more[0], deleted], [], client_limit=2)
    assert await store.subscriptions.count_live(owner.client_id) == 2


async def test_delete_url_marks_live_records_deleted(store: Store, owner: Owner) -> None:
    live = _record(owner, "ProjectCreated")
    stopped = _record(owner, "ProjectChanged", status=STOPPED, stop_reason="failed")
    other_url = _record(owner, "ProjectCreated", callback_url="https://other.example/")
    await store.subscriptions.save([live, stopped, other_url], [], client_limit=10)
    later = NOW + timedelta(seconds=30)
    assert await store.subscriptions.delete_url(owner, URL, later) == 2
    for record in (live, stopped):
        found = await store.subscriptions.get(record.id)
        assert found is not None
        assert (found.status, found.status_changed_at, found.stop_reason) == (DELETED, later, None)
    assert await store.subscriptions.listed(owner) == [other_url]
    assert await store.subscriptions.delete_url(owner, URL, later) == 0


async def test_partner_disconnect_stops_and_reconnect_restores(store: Store) -> None:
    partner = models.Partner(ids.prefixed(ids.PARTNER), "Partner", NOW)
    await store.tenants.add_partner(partner)
    company, elsewhere = await _company(store, "A"), await _company(store, "B")
    partner_client = await _client(store, None, partner.id)
    own_client = await _client(store, company)
    here = Owner(partner_client, "setups", company)
    there = Owner(partner_client, "setups", elsewhere)
    own = Owner(own_client, "setups", company)
    active, failed = _record(here, "EmployeeCreated"), _record(here, "EmployeeUpdated")
    failed = dataclasses.replace(failed, status=STOPPED, stop_reason="5 tries failed")
    deleted = _record(here, "EmployeeDeleted", status=DELETED)
    untouched = [_record(there, "EmployeeCreated"), _record(own, "EmployeeCreated")]
    await store.subscriptions.save([active, failed, deleted, *untouched], [], client_limit=10)

    later = NOW + timedelta(minutes=1)
    assert (
        len(await store.subscriptions.set_partner_connected(partner.id, company, False, later)) == 1
    )
    stopped = await store.subscriptions.get(active.id)
    assert stopped is not None
    assert (stopped.status, stopped.stop_reason, stopped.status_changed_at) == (
        STOPPED,
        DISCONNECTED,
        later,
    )
    for record in (failed, deleted, *untouched):
        assert await store.subscriptions.get(record.id) == record

    assert (
        len(await store.subscriptions.set_partner_connected(partner.id, company, True, later)) == 1
    )
    restored = await store.subscriptions.get(active.id)
    assert restored is not None
    assert (restored.status, restored.stop_reason) == (ACTIVE, None)
    assert await store.subscriptions.get(failed.id) == failed
