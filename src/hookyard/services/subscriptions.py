"""Webhook subscriptions: list, subscribe (POST adds, PUT replaces), unsubscribe, and the effect
of a partner's (dis)connection, with the callback url verified by challenge before anything is
stored.

The challenge goes through an injected `Prober` (the composition root passes
`hookyard.delivery.prober`), so this module never touches the network.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from hookyard import clock, errors, ids, metrics, models, signing
from hookyard.catalog import Product
from hookyard.config import Settings
from hookyard.services import subscription_rules as rules
from hookyard.services.approvals import Approvals
from hookyard.store import Store
from hookyard.store.subscriptions import Owner as Owner

log = logging.getLogger("hookyard.subscriptions")
ACTIVE = models.SubscriptionStatus.ACTIVE
STOPPED = models.SubscriptionStatus.STOPPED
DELETED = models.SubscriptionStatus.DELETED
Key = tuple[str, str | None]
RecordsHook = Callable[[list[models.Subscription]], Awaitable[None]]


class ChallengeResult(Protocol):
    """How one challenge ended: `passed`, and `detail` saying what happened."""

    @property
    def passed(self) -> bool: ...

    @property
    def detail(self) -> str: ...


class Prober(Protocol):
    """Sends `GET <url>?challenge=<value>` and says whether the callback echoed the value."""

    async def challenge(self, url: str) -> ChallengeResult: ...


@dataclass(frozen=True)
class SubscriptionRequest:
    """A POST or PUT body: `filter_values` are HeavyJob's `jobIds` (None: every job)."""

    url: str
    event_types: Sequence[str]
    secret_key: str | None = None
    filter_values: Sequence[str] | None = None
    auto_reactivate: bool | None = None
    """`autoReactivate`: None keeps the url's current choice (False for a new url)."""


@dataclass(frozen=True)
class Plan:
    """What a POST or PUT does to the records of one url."""

    secret_key: str
    added: list[models.Subscription]
    changed: list[models.Subscription]

    def live_delta(self, before: dict[str, models.Subscription]) -> int:
        """How many more Active or Stopped records there are afterwards."""
        delta = len(self.added)
        for record in self.changed:
            was_live = before[record.id].status != DELETED
            delta += int(record.status != DELETED) - int(was_live)
        return delta


@dataclass(frozen=True)
class UrlSecret:
    """The key every record of one url shares, and the key it replaced while that still signs."""

    key: str
    previous: str | None = None
    previous_until: datetime | None = None

    def apply(self, record: models.Subscription, **changes: object) -> models.Subscription:
        return dataclasses.replace(
            record,
            secret_key=self.key,
            previous_secret_key=self.previous,
            previous_secret_until=self.previous_until,
            **changes,  # type: ignore[arg-type]
        )


def url_secret(
    existing: Sequence[models.Subscription], supplied: str | None, now: datetime, overlap: timedelta
) -> UrlSecret:
    """The supplied key replaces the current one (which still signs for `overlap`), no key keeps
    the current one, and a new url gets a generated one."""
    current = existing[-1] if existing else None
    if current is None:
        return UrlSecret(supplied or signing.generate_secret())
    if supplied is None or supplied == current.secret_key:
        return UrlSecret(
            current.secret_key, current.previous_secret_key, current.previous_secret_until
        )
    return UrlSecret(supplied, current.secret_key, now + overlap)


def _next_status(
    record: models.Subscription, wanted: set[Key], replace: bool
) -> models.SubscriptionStatus:
    if (record.event_type, record.filter_value) in wanted:
        return ACTIVE
    if replace:
        return DELETED
    # The url has just answered a challenge, so its Stopped records may receive again.
    return ACTIVE if record.status == STOPPED else record.status


def plan(
    owner: Owner,
    url: str,
    existing: Sequence[models.Subscription],
    wanted: Sequence[Key],
    *,
    supplied_secret: str | None,
    replace: bool,
    now: datetime,
    overlap: timedelta,
    auto_reactivate: bool | None = None,
) -> Plan:
    """The records to add and change so that `wanted` are Active for `url` (and, when
    `replace`, every other record of the url Deleted), all sharing one secret key."""
    secret = url_secret(existing, supplied_secret, now, overlap)
    if auto_reactivate is None:
        auto_reactivate = existing[-1].auto_reactivate if existing else False
    wanted_set = set(wanted)
    changed = []
    for record in existing:
        status = _next_status(record, wanted_set, replace)
        moved = status != record.status
        updated = secret.apply(
            record,
            status=status,
            status_changed_at=now if moved else record.status_changed_at,
            stop_reason=record.stop_reason if status == STOPPED else None,
            auto_reactivate=auto_reactivate,
        )
        if updated != record:
            changed.append(updated)
    have = {(record.event_type, record.filter_value) for record in existing}
    added = [
        secret.apply(
            models.Subscription(
                id=ids.guid(),
                product=owner.product,
                company_id=owner.company_id,
                client_id=owner.client_id,
                partition_value=owner.partition_value or None,
                filter_value=filter_value,
                event_type=event_type,
                callback_url=url,
                status=ACTIVE,
                date_created=now,
                status_changed_at=now,
                stop_reason=None,
                secret_key=secret.key,
                auto_reactivate=auto_reactivate,
            )
        )
        for event_type, filter_value in wanted
        if (event_type, filter_value) not in have
    ]
    return Plan(secret.key, added, changed)


class Subscriptions:
    """The webhook subscription use cases, for one caller at a time."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        prober: Prober,
        *,
        approvals: Approvals | None = None,
        now: clock.Clock = clock.utcnow,
    ) -> None:
        self._store = store
        self._settings = settings
        self._prober = prober
        self._approvals = approvals or Approvals(
            store, settings.approval_hosts, contact=settings.approval_contact, now=now
        )
        self._now = now
        self._reactivated_hooks: list[RecordsHook] = []
        self._stopped_hooks: list[RecordsHook] = []

    def on_reactivated(self, hook: RecordsHook) -> None:
        """Call `hook(records)` with the Stopped records a POST or a partner's reconnection
        made Active again."""
        self._reactivated_hooks.append(hook)

    def on_stopped(self, hook: RecordsHook) -> None:
        """Call `hook(records)` with the records a partner's disconnection Stopped."""
        self._stopped_hooks.append(hook)

    async def owner(
        self, caller: models.Principal, product: Product, partition: str | None = None
    ) -> Owner:
        """Where the caller's records of `product` live; checks the scope, the company and
        (for a partitioned product such as Pre-Con) the business unit named in the path."""
        if not caller.has_scope(product.scope):
            raise errors.Forbidden(
                f"This token lacks the scope {product.scope}; request a token with that scope."
            )
        if caller.company_id is None:
            raise errors.Forbidden(
                "This token acts for no company; partners use grant_type=company with a CompanyId."
            )
        owner = Owner(caller.client_id, product.key, caller.company_id)
        if product.partition is None:
            return owner
        unit_id = await self._business_unit(caller, caller.company_id, product, partition or "")
        return dataclasses.replace(owner, partition_value=unit_id)

    async def _business_unit(
        self, caller: models.Principal, company_id: str, product: Product, value: str
    ) -> str:
        # Any unit that is not the company's gets the same answer whether it exists elsewhere or
        # not, so that nothing tells one company about another's units.
        name = product.partition or "businessUnitId"
        unit_id = rules.guid(name, value)
        unit = await self._store.tenants.business_unit(unit_id)
        if unit is None or unit.company_id != company_id:
            raise errors.NotFound(
                f"Your company has no business unit {unit_id}; list yours with "
                f"GET /{product.route}/api/v1/businessUnits."
            )
        if not caller.may_see_business_unit(unit_id):
            raise errors.Forbidden(
                f"This token may not use business unit {unit_id}; use a client with access to it."
            )
        return unit_id

    async def listed(self, owner: Owner) -> list[models.Subscription]:
        """The owner's Active and Stopped records."""
        return await self._store.subscriptions.listed(owner)

    async def subscribe(
        self, owner: Owner, product: Product, request: SubscriptionRequest, *, replace: bool
    ) -> str:
        """POST (`replace=False`: add event types, reactivate) or PUT (`replace=True`: the
        records not named become Deleted). The url must pass the challenge first; nothing is
        stored otherwise; before it, a host that needs the operator's approval must have it
        (`services.approvals`). Returns the url's secret key."""
        settings = self._settings
        url = rules.callback_url(request.url, require_https=settings.require_https)
        types = rules.event_types(product, request.event_types, limit=settings.max_event_types)
        filters = rules.filter_values(product, request.filter_values, limit=settings.max_job_ids)
        supplied = None if request.secret_key is None else rules.secret_key(request.secret_key)
        existing = await self._store.subscriptions.of_url(owner, url)
        changes = plan(
            owner,
            url,
            existing,
            [(event_type, value) for event_type in types for value in filters],
            supplied_secret=supplied,
            replace=replace,
            now=self._now(),
            overlap=timedelta(hours=settings.secret_overlap_hours),
            auto_reactivate=request.auto_reactivate,
        )
        await self._check_limit(owner, changes, existing)
        await self._approvals.gate(owner, url)
        await self._challenge(url)
        await self._store.subscriptions.save(
            changes.added, changes.changed, client_limit=settings.max_subscriptions_per_client
        )
        log.info(
            "subscription saved",
            extra={"client_id": owner.client_id, "product": owner.product, "replace": replace},
        )
        await self._announce_reactivated(existing, changes.changed)
        return changes.secret_key

    async def _announce_reactivated(
        self, before: Sequence[models.Subscription], after: Sequence[models.Subscription]
    ) -> None:
        was_stopped = {record.id for record in before if record.status == STOPPED}
        again = [r for r in after if r.id in was_stopped and r.status == ACTIVE]
        if again:
            for hook in self._reactivated_hooks:
                await hook(again)

    async def _check_limit(
        self, owner: Owner, changes: Plan, existing: Sequence[models.Subscription]
    ) -> None:
        limit = self._settings.max_subscriptions_per_client
        before = {record.id: record for record in existing}
        count = await self._store.subscriptions.count_live(owner.client_id)
        after = count + changes.live_delta(before)
        if after > limit:
            raise errors.InvalidInput.field(
                rules.EVENT_TYPES,
                f"this would give the client {after} subscription records, and at most {limit} "
                "are allowed; delete some first (DELETE ?url=) or name fewer event types or jobs",
            )

    async def _challenge(self, url: str) -> None:
        result = await self._prober.challenge(url)
        metrics.challenge(result.passed)
        if not result.passed:
            raise errors.ChallengeFailed(
                f"The challenge to the callback url failed: {result.detail.rstrip('.?!')}. "
                "The callback must "
                "answer GET <url>?challenge=<value> with 200 and exactly the value as the body; "
                "nothing was stored.",
                {rules.URL: [result.detail]},
            )

    async def unsubscribe(self, owner: Owner, url: str | None) -> int:
        """DELETE ?url=: every Active or Stopped record of `url` becomes Deleted."""
        if not url:
            raise errors.InvalidInput.field(
                rules.URL, "is required: DELETE ...?url=<the callback url to unsubscribe>"
            )
        count = await self._store.subscriptions.delete_url(owner, url, self._now())
        if count == 0:
            raise errors.NotFound(
                "This client has no Active or Stopped subscription with that url here; "
                "GET this path lists them."
            )
        return count

    async def connection_changed(self, partner_id: str, company_id: str, connected: bool) -> None:
        """A company (dis)connected a partner's app: Stop its Active records (reason
        `disconnected`), or make the records so stopped Active again."""
        changed = await self._store.subscriptions.set_partner_connected(
            partner_id, company_id, connected, self._now()
        )
        log.info(
            "partner connection changed",
            extra={"partner_id": partner_id, "company_id": company_id, "records": len(changed)},
        )
        if changed:
            for hook in self._reactivated_hooks if connected else self._stopped_hooks:
                await hook(changed)
