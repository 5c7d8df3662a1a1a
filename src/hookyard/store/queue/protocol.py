"""The delivery queue's seam: what a database backend does, and the named rows it hands over.

`Store` picks one `QueueBackend` for its database (`hookyard.store.queue.backend_for`); nothing
else asks which database it is. Each backend module owns all of that database's hot SQL. The
backends only apply decisions: whether a try Stops its record, when it is retried, and what a
delivery that cannot be prepared becomes are the worker's to decide (`Finished` carries them).

Leases are timed by the database's clock, never a worker's: a claim leases until the database's
now plus `lease_seconds`, a renewal likewise, a lease has expired when the database's now is past
it, and a delivery is due when the database's now is past its due time. A worker's clock only
says how far away its retries are (`retry_delay`), and they are laid on the database's clock. So a
worker whose clock runs ahead neither takes over live leases nor runs retries early.

Each claim leases its deliveries under a token of its own (`Claimed.lease`, stored in
`deliveries.lease_owner`): finishing, renewing and returning a delivery only touch it while that
claim still holds it. A try finished after its lease expired and another claim took the delivery
over is recorded as an attempt (it happened) but changes neither the delivery nor its record.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from hookyard import ids, models

ERROR_CHARS = 1000
REPLAY_STEP = timedelta(microseconds=1)
"""Requeued deliveries fall due this far apart, in the order given, so they are claimed in it."""
MAX_HOSTS = 1000
"""At most this many callback hosts are looked at by one claim (see `ClaimRequest`)."""

Callback = Callable[[], None]
Leases = Mapping[str, str]
"""Delivery id -> the lease token (`Claimed.lease`) of the claim that leased it."""


@dataclass(frozen=True)
class Target:
    """A record an event is delivered to whatever else it would match (a test event's)."""

    subscription_id: str
    callback_url: str
    client_id: str


@dataclass(frozen=True)
class NewEvent:
    """An event to ingest; `body` is the exact payload every subscriber will receive.
    `targets` set: delivered to those records only, never matched against subscriptions
    (numbered like any other delivery to their (client, url))."""

    product: str
    event_type: str
    company_id: str
    partition_value: str
    filter_value: str
    body: bytes
    publisher_id: str
    idempotency_key: str | None = None
    targets: tuple[Target, ...] | None = None


@dataclass(frozen=True)
class Ingested:
    """What ingesting one event did: its id, how many deliveries, and whether it was a repeat."""

    event_id: str
    deliveries: int
    duplicate: bool


@dataclass(frozen=True)
class ClaimRequest:
    """What one claim may take: at most `limit` due deliveries in all, at most `per_host` of one
    callback host less what the caller already holds of it (`in_hand`); a host with no room
    left is not looked at, so its backlog costs the claim nothing. The deliveries are leased for
    `lease_seconds` of the database's clock under a token that starts with `holder` (the
    worker's id, so that an operator can tell who holds a delivery)."""

    limit: int
    lease_seconds: float
    holder: str = ""
    per_host: int | None = None
    in_hand: Mapping[str, int] = field(default_factory=dict)

    def room(self, host: str) -> int:
        """How many of `host`'s deliveries this claim may take."""
        cap = self.limit if self.per_host is None else self.per_host
        return max(0, min(self.limit, cap - self.in_hand.get(host, 0)))

    @property
    def full_hosts(self) -> list[str]:
        """The hosts in hand with no room left."""
        return [host for host in self.in_hand if self.room(host) <= 0]

    def lease_token(self) -> str:
        """A fresh token for this claim's leases: the holder's id (who), a ULID (which claim)."""
        return f"{self.holder[:100]}/{ids.ulid()}" if self.holder else ids.ulid()


@dataclass(frozen=True)
class Claimed:
    """A leased delivery with all a try needs, its secrets still in their stored (sealed) form.
    `problem` set: the stored row could not be read; the worker records a failed try for it."""

    id: str
    subscription_id: str
    host: str
    attempts: int
    url: str
    body: bytes
    secret_key: str
    previous_secret_key: str | None = None
    previous_secret_until: datetime | None = None
    problem: str | None = None
    sequence: int | None = None
    """The delivery's `webhook-sequence` for its (client, url); None for one made before."""
    earlier_attempts: int = 0
    """Tries of earlier rounds (before a redeliver or recover)."""
    product: str = ""
    lease: str = ""
    """The token of the claim that leased it: finish, renew and return it with this."""

    @property
    def attempt(self) -> int:
        """The number of the try about to be made in this round (1-based): the retry policy's."""
        return self.attempts + 1

    @property
    def number(self) -> int:
        """The attempt number of the try about to be made, counting earlier rounds."""
        return self.earlier_attempts + self.attempts + 1

    @classmethod
    def unreadable(
        cls,
        delivery_id: str,
        subscription_id: str,
        host: str,
        attempts: int,
        exc: Exception,
        lease: str = "",
    ) -> Claimed:
        """A claimed delivery whose stored row does not read: its try fails with the reason."""
        problem = f"the stored delivery could not be read ({exc}); check its event and record"
        return cls(
            delivery_id, subscription_id, host, attempts, "", b"", "", problem=problem, lease=lease
        )


@dataclass(frozen=True)
class Finished:
    """The record of one try and what the worker decided: `state` is succeeded, pending (retry
    at `retry_at`, by the worker's clock) or failed; `stop_reason` set: the record is Stopped
    with that reason. `attempt` is the try's number in its round (the delivery's `attempts`
    after it); `lease` is the token the try's delivery was claimed with."""

    delivery_id: str
    subscription_id: str
    attempt: int
    started_at: datetime
    duration_ms: float
    outcome: models.Outcome
    status_code: int | None
    error: str | None
    response_body: str | None
    lease: str
    state: models.DeliveryState = models.DeliveryState.SUCCEEDED
    retry_at: datetime | None = None
    stop_reason: str | None = None
    earlier_attempts: int = 0
    """Tries of earlier rounds: the attempt row is number `earlier_attempts + attempt`."""
    product: str = ""

    @property
    def number(self) -> int:
        """The attempt row's number: continues across redeliveries, unique per delivery."""
        return self.earlier_attempts + self.attempt

    @property
    def succeeded(self) -> bool:
        return self.state is models.DeliveryState.SUCCEEDED

    @property
    def short_error(self) -> str | None:
        return self.error[:ERROR_CHARS] if self.error else None

    def retry_delay(self, now: datetime) -> float:
        """Seconds from `now` (the worker's clock) until the retry; 0 when there is none. The
        backends add it to the database's clock, so a worker's skew does not move its retries."""
        if self.retry_at is None:
            return 0.0
        return max(0.0, (self.retry_at - now).total_seconds())


class QueueBackend(Protocol):
    """The hot path of one database: ingest, claim, finish, leases, next due, requeue,
    wake-ups."""

    flush_writers: int
    """How many finish batches may be recorded at once (1 where there is one writer)."""
    numbered: bool
    """Whether ingest numbers deliveries per (client, url) (`webhook-sequence`); it is off only
    to measure what numbering costs (benchmarks/sequence_cost.py)."""

    async def ingest(self, events: Sequence[NewEvent], now: datetime) -> list[Ingested]:
        """Store `events` and all their deliveries in one transaction; all or nothing."""
        ...

    async def claim(self, request: ClaimRequest) -> list[Claimed]:
        """Lease due deliveries as `request` allows (never more than its limit). Deliveries
        whose record is no longer Active are held instead of returned."""
        ...

    async def finish(self, tries: Sequence[Finished], *, now: datetime) -> frozenset[str]:
        """Record a batch of tries in one transaction: attempts, states, Stopped records, and
        the pending deliveries of records no longer Active held. `now` is the worker's clock,
        against which each retry's delay is measured (`Finished.retry_delay`). A try whose
        lease was lost is recorded as an attempt and changes nothing else. Returns the ids of
        the records this batch Stopped (Active until it): a record is Stopped by one batch only,
        whichever process records it, so each Stop is announced once."""
        ...

    async def extend(self, leases: Leases, *, lease_seconds: float) -> None:
        """Renew the leases still held under these tokens to the database's now plus
        `lease_seconds`."""
        ...

    async def release(self, leases: Leases) -> None:
        """Give leased deliveries still held under these tokens back untried: due again at
        once."""
        ...

    async def release_expired(self) -> int:
        """Deliveries whose lease ran out by the database's clock (their worker died or
        stalled) become due again; how many."""
        ...

    async def due_in(self, excluding: Collection[str] = ()) -> float | None:
        """Seconds until the earliest pending delivery is due by the database's clock (0 or
        less: due now), or None when none is pending; hosts in `excluding` (those the worker
        holds as many of as it takes) are left out."""
        ...

    async def listen(self, callback: Callback, ready: Callback) -> None:
        """Call `callback` whenever another process makes deliveries due, until cancelled;
        `ready` once listening. Raises when the wake-up connection is lost (the caller
        listens again; a wake-up may have been missed, so it also calls `callback`)."""
        ...

    async def requeue(
        self,
        delivery_ids: Sequence[str],
        *,
        now: datetime,
        states: Collection[models.DeliveryState],
    ) -> int:
        """Start a new round of tries for those of `delivery_ids` still in one of `states` when
        this transaction reads them (one a worker took since it was chosen is left alone): each
        is pending, due at `now` plus `REPLAY_STEP` per place in `delivery_ids` (so they are
        claimed in that order), its try counter at 0 with the tries so far kept as earlier
        ones. How many were requeued; when any, workers are woken (of every process)."""
        ...

    async def reactivate(self, record_ids: Sequence[str], *, now: datetime) -> int:
        """Make these records Active (those Stopped) and requeue their held deliveries in
        publish order (by sequence number, those made before numbering first), in one
        transaction; how many deliveries were released. Wakes workers like `requeue`."""
        ...

    async def drop_held(self, cap: int, older_than: datetime) -> dict[str, int]:
        """Drop (with their attempts) the held deliveries of Stopped records past `cap` per
        record, the oldest in publish order first, and those made before `older_than`, adding
        each record's count to its `held_dropped`, in one transaction; {record id: dropped}."""
        ...

    async def close(self) -> None: ...
