"""Driver SQL stores datetimes exactly as SQLAlchemy does, so SQLite's text comparisons hold."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, MetaData, Table, create_engine, insert

from hookyard.store.database import Database
from hookyard.store.driver_sql import DriverSql
from hookyard.store.schema import UTCDateTime

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def test_sqlite_text_is_sqlalchemys_own(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    engine = create_engine(f"sqlite:///{path}")
    table = Table("t", MetaData(), Column("at", UTCDateTime()))
    table.metadata.create_all(engine)
    sql = DriverSql(Database(f"sqlite:///{path}").writer.dialect)

    @settings(max_examples=200, deadline=None)
    @given(moments)
    def same(moment: datetime) -> None:
        with engine.begin() as connection:
            connection.execute(table.delete())
            connection.execute(insert(table).values(at=moment))
        with sqlite3.connect(path) as raw:
            (stored,) = raw.execute("SELECT at FROM t").fetchone()
        assert sql.timestamp(moment) == stored
        assert sql.read_timestamp(stored) == moment

    same()
    whole_second = datetime(2026, 11, 29, 9, 0, 0, tzinfo=UTC)
    assert sql.timestamp(whole_second) == "2026-11-29 09:00:00.000000"
    engine.dispose()


@settings(max_examples=200, deadline=None)
@given(moments)
def test_postgresql_gets_naive_utc(moment: datetime) -> None:
    # The dialect of a PostgreSQL Database; making the engine does not connect.
    sql = DriverSql(Database("postgresql://hookyard@127.0.0.1/none").writer.dialect)
    assert sql.timestamp(moment) == moment.replace(tzinfo=None)
    assert sql.read_timestamp(moment.replace(tzinfo=None)) == moment
