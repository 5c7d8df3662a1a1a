"""The dialect rules: each says what its database really does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hookyard.clock import utcnow
from hookyard.store import Store, dialect, outage, schema

T = schema.key_fingerprints


def test_a_url_names_its_rules() -> None:
    assert dialect.of("sqlite:///data/hookyard.db") is dialect.SQLITE
    assert dialect.of("sqlite+aiosqlite:///data/hookyard.db") is dialect.SQLITE
    assert dialect.of("postgresql://hookyard@db/hookyard") is dialect.POSTGRESQL
    assert dialect.of("postgresql+asyncpg://hookyard@db/hookyard") is dialect.POSTGRESQL
    assert outage.database_name("sqlite:///data/hookyard.db") == "the SQLite file data/hookyard.db"


async def test_the_store_carries_the_rules_of_its_database(store: Store) -> None:
    rules = store.db.dialect_rules
    assert rules is dialect.of(store.db.url)
    assert rules.name == store.db.dialect
    assert rules.local_file == (store.db.file is not None)


async def test_upsert_skips_or_updates_a_row_that_exists(store: Store) -> None:
    now = utcnow()
    row = {"kind": "jwt", "kid": "k1", "first_seen_at": now}
    upsert = store.db.dialect_rules.upsert
    async with store.db.write() as connection:
        await connection.execute(upsert(T).values(**row, fingerprint="first"))
        skip = upsert(T).values(**row, fingerprint="second").on_conflict_do_nothing()
        assert (await connection.execute(skip)).rowcount == 0
    async with store.db.read() as connection:
        assert (await connection.execute(select(T.c.fingerprint))).scalar_one() == "first"
    later = now + timedelta(seconds=1)
    update = (
        upsert(T)
        .values(**row, fingerprint="third")
        .on_conflict_do_update(
            index_elements=[T.c.kind, T.c.kid],
            set_={"fingerprint": "third", "current_since": later},
        )
        .returning(T.c.fingerprint)
    )
    async with store.db.write() as connection:
        assert (await connection.execute(update)).scalar_one() == "third"
    async with store.db.read() as connection:
        found = (await connection.execute(select(T.c.current_since))).scalar_one()
    assert found == later


async def test_skip_locked_passes_over_rows_another_transaction_holds(store: Store) -> None:
    rules = store.db.dialect_rules
    if not rules.skip_locked:
        assert rules.local_file  # one writer holds the whole file: nothing to skip
        return
    async with store.db.write() as connection:
        await connection.execute(
            T.insert().values(kind="jwt", kid="k1", fingerprint="f", first_seen_at=utcnow())
        )
    every = select(T.c.kid)
    async with store.db.write() as holder, store.db.write() as other:
        assert (await holder.execute(every.with_for_update())).scalars().all() == ["k1"]
        skipping = every.with_for_update(skip_locked=True)
        assert (await other.execute(skipping)).scalars().all() == []


async def test_only_a_database_that_vacuums_has_maintenance_connections(store: Store) -> None:
    if store.db.dialect_rules.vacuums:
        async with store.db.autocommit() as connection:
            await connection.exec_driver_sql("VACUUM key_fingerprints")
        return
    with pytest.raises(TypeError):
        async with store.db.autocommit():
            pass
