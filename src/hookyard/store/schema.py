"""The database schema, as SQLAlchemy Core tables. Alembic migrations must produce exactly this."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

SETTLED = ("succeeded", "failed", "held")
"""Delivery states no worker will change again on its own; each has an index on `updated_at`,
which is how retention finds the old ones (`hookyard.store.retention`)."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored naive in UTC so both dialects agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass a UTC-aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


companies = Table(
    "companies",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("date_created", UTCDateTime(), nullable=False),
)

business_units = Table(
    "business_units",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False, index=True),
    Column("code", String(64), nullable=False),
    Column("description", String(500), nullable=False),
    Column("credentials_id", String(36), nullable=False),
    Column("date_created", UTCDateTime(), nullable=False),
    UniqueConstraint("company_id", "code", name="uq_business_units_company_code"),
)

partners = Table(
    "partners",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("date_created", UTCDateTime(), nullable=False),
)

partner_connections = Table(
    "partner_connections",
    metadata,
    Column("partner_id", String(64), ForeignKey("partners.id"), primary_key=True),
    Column("company_id", String(36), ForeignKey("companies.id"), primary_key=True),
    Column("connected", Boolean(), nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
)

clients = Table(
    "clients",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=True, index=True),
    Column("partner_id", String(64), ForeignKey("partners.id"), nullable=True, index=True),
    Column("scopes", Text(), nullable=False),
    Column("business_units", Text(), nullable=False),
    Column("secret_hash", Text(), nullable=False),
    Column("date_created", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("product", String(64), nullable=False),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("client_id", String(64), ForeignKey("clients.id"), nullable=False),
    Column("partition_value", String(64), nullable=False, server_default=""),
    Column("filter_value", String(64), nullable=False, server_default=""),
    Column("event_type", String(128), nullable=False),
    Column("callback_url", String(2048), nullable=False),
    Column("secret_key", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("date_created", UTCDateTime(), nullable=False),
    Column("status_changed_at", UTCDateTime(), nullable=False),
    Column("stop_reason", Text(), nullable=True),
    Column("previous_secret_key", Text(), nullable=True),
    Column("previous_secret_until", UTCDateTime(), nullable=True),
    Column("auto_reactivate", Boolean(), nullable=False, server_default=false()),
    Column("last_probe_at", UTCDateTime(), nullable=True),
    Column("held_dropped", Integer(), nullable=False, server_default="0"),
    UniqueConstraint(
        "client_id",
        "product",
        "company_id",
        "partition_value",
        "callback_url",
        "event_type",
        "filter_value",
        name="uq_subscriptions_record",
    ),
    Index("ix_subscriptions_match", "product", "company_id", "event_type", "status"),
    Index("ix_subscriptions_owner", "client_id", "product", "partition_value"),
)

events = Table(
    "events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("product", String(64), nullable=False),
    Column("event_type", String(128), nullable=False),
    Column("company_id", String(36), nullable=False),
    Column("partition_value", String(64), nullable=False, server_default=""),
    Column("filter_value", String(64), nullable=False, server_default=""),
    Column("body", LargeBinary(), nullable=False),
    Column("publisher_id", String(64), nullable=False),
    Column("idempotency_key", String(255), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("publisher_id", "idempotency_key", name="uq_events_idempotency"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("event_id", String(40), ForeignKey("events.id"), nullable=False, index=True),
    Column("subscription_id", String(36), ForeignKey("subscriptions.id"), nullable=False),
    Column("host", String(300), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("earlier_attempts", Integer(), nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("last_status", Integer(), nullable=True),
    Column("last_error", Text(), nullable=True),
    Column("sequence", BigInteger(), nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Index("ix_deliveries_subscription_state", "subscription_id", "state"),
    Index("ix_deliveries_subscription_sequence", "subscription_id", "sequence"),
    Index(
        "ix_deliveries_host_due",
        "host",
        "next_attempt_at",
        sqlite_where=text("state = 'pending'"),
        postgresql_where=text("state = 'pending'"),
    ),
    Index(
        "ix_deliveries_leased",
        "locked_until",
        sqlite_where=text("state = 'in_flight'"),
        postgresql_where=text("state = 'in_flight'"),
    ),
    *(
        Index(
            f"ix_deliveries_{state}_at",
            "updated_at",
            sqlite_where=text(f"state = '{state}'"),
            postgresql_where=text(f"state = '{state}'"),
        )
        for state in SETTLED
    ),
)

callback_sequences = Table(
    "callback_sequences",
    metadata,
    Column("client_id", String(64), ForeignKey("clients.id"), primary_key=True),
    Column("callback_url", String(2048), primary_key=True),
    Column("last_sequence", BigInteger(), nullable=False, server_default="0"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("delivery_id", String(40), ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("number", Integer(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("duration_ms", Float(), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("status_code", Integer(), nullable=True),
    Column("error", Text(), nullable=True),
    Column("response_body", Text(), nullable=True),
)

key_fingerprints = Table(
    "key_fingerprints",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("kid", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("first_seen_at", UTCDateTime(), nullable=False),
    Column("current_since", UTCDateTime(), nullable=True),
)

token_failures = Table(
    "token_failures",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column("address", String(64), primary_key=True),
    Column("failures", Integer(), nullable=False),
    Column("window_start", UTCDateTime(), nullable=False, index=True),
    Column("blocked_until", UTCDateTime(), nullable=True),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("client_id", String(64), ForeignKey("clients.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("client_id", String(64), ForeignKey("clients.id"), nullable=False),
    Column("company_id", String(36), nullable=False),
    Column("product", String(64), nullable=False),
    Column("host", String(300), nullable=False),
    Column("callback_url", String(2048), nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("last_requested_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("reason", Text(), nullable=True),
    UniqueConstraint("client_id", "host", name="uq_approvals_client_host"),
    Index("ix_approvals_status", "status", "requested_at"),
)

worker_heartbeats = Table(
    "worker_heartbeats",
    metadata,
    Column("worker_id", String(80), primary_key=True),
    Column("hostname", String(200), nullable=False),
    Column("pid", Integer(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("beat_at", UTCDateTime(), nullable=False),
    Column("interval_seconds", Float(), nullable=False),
)
