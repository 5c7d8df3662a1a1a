"""Hookyard's records as frozen dataclasses, and their status enums."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

ALL_BUSINESS_UNITS = "*"


class SubscriptionStatus(enum.StrEnum):
    ACTIVE = "Active"
    STOPPED = "Stopped"
    DELETED = "Deleted"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HELD = "held"


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Outcome(enum.StrEnum):
    """How one try ended."""

    SUCCESS = "success"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    ADDRESS_NOT_ALLOWED = "address_not_allowed"
    NOT_SENT = "not_sent"
    """The try could not be prepared (a secret that does not unseal, a row that does not read)."""


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    date_created: datetime


@dataclass(frozen=True)
class BusinessUnit:
    id: str
    company_id: str
    code: str
    description: str
    credentials_id: str
    date_created: datetime


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    date_created: datetime


@dataclass(frozen=True)
class Client:
    """An API client. `business_units` is ("*",) for all of its company's units."""

    id: str
    name: str
    company_id: str | None
    partner_id: str | None
    scopes: tuple[str, ...]
    business_units: tuple[str, ...]
    secret_hash: str
    date_created: datetime
    revoked_at: datetime | None

    @property
    def all_business_units(self) -> bool:
        return ALL_BUSINESS_UNITS in self.business_units


@dataclass(frozen=True)
class Subscription:
    """One record: one event type (and one job for HeavyJob) of one callback URL."""

    id: str
    product: str
    company_id: str
    client_id: str
    partition_value: str | None
    filter_value: str | None
    event_type: str
    callback_url: str
    secret_key: str
    status: SubscriptionStatus
    date_created: datetime
    status_changed_at: datetime
    stop_reason: str | None
    previous_secret_key: str | None = None
    previous_secret_until: datetime | None = None
    auto_reactivate: bool = False
    """Reactivate this url's records by itself when a probe of a Stopped record passes."""
    last_probe_at: datetime | None = None
    held_dropped: int = 0
    """Held deliveries dropped past the cap or the retention while the record was Stopped."""


@dataclass(frozen=True)
class Approval:
    """A client's request to subscribe callbacks on a host that needs the operator's approval.

    One per (client, host): `callback_url` is the url last asked for, `requested_at` the first
    ask and `last_requested_at` the latest; `decided_by` and `reason` record the decision."""

    id: str
    client_id: str
    company_id: str
    product: str
    host: str
    callback_url: str
    status: ApprovalStatus
    requested_at: datetime
    last_requested_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Event:
    id: str
    product: str
    event_type: str
    company_id: str
    partition_value: str | None
    filter_value: str | None
    body: bytes
    publisher_id: str
    idempotency_key: str | None
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    id: str
    event_id: str
    subscription_id: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    updated_at: datetime
    last_status: int | None = None
    last_error: str | None = None
    earlier_attempts: int = 0
    """Tries of earlier rounds (before a redeliver or recover); `attempts` counts this round's."""

    @property
    def tries_in_all(self) -> int:
        return self.earlier_attempts + self.attempts


@dataclass(frozen=True)
class Attempt:
    id: str
    delivery_id: str
    number: int
    started_at: datetime
    duration_ms: float
    outcome: Outcome
    status_code: int | None
    error: str | None
    response_body: str | None


@dataclass(frozen=True)
class Principal:
    """Who is calling, as an access token says and the store still agrees."""

    client_id: str
    company_id: str | None
    partner_id: str | None
    scopes: frozenset[str]
    business_units: tuple[str, ...]
    token_id: str = ""

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def may_see_business_unit(self, unit_id: str) -> bool:
        return ALL_BUSINESS_UNITS in self.business_units or unit_id in self.business_units
