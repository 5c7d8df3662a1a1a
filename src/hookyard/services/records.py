"""What the console does to subscription records by id: list them with their Stop reason,
reactivate a Stopped url (the approval gate and its challenge run again), rotate a url's secret
key (the old one keeps signing beside the new one for `secret_overlap_hours`).

Each operation takes an `Actor` and asks `services.access` what it reaches: an integrator its
own records, a partner its own in the companies connected to it now, the operator every record.
Any other id is NotFound, the same answer as for an id that does not exist.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from hookyard import clock, errors, models, signing
from hookyard.config import Settings
from hookyard.services import subscriptions
from hookyard.services.access import Access, Actor
from hookyard.services.approvals import Approvals
from hookyard.services.subscriptions import Prober
from hookyard.store import Store
from hookyard.store.subscriptions import Owner

log = logging.getLogger("hookyard.records")
MAX_LISTED = 500


class RecordActions:
    """Subscription records by id, for the console."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        prober: Prober,
        *,
        approvals: Approvals,
        on_reactivated: subscriptions.RecordsHook | None = None,
        now: clock.Clock = clock.utcnow,
    ) -> None:
        self._store = store
        self._settings = settings
        self._prober = prober
        self._approvals = approvals
        self._access = Access(store)
        self._on_reactivated = on_reactivated
        self._now = now

    async def listed(self, actor: Actor, status: str | None = None) -> list[models.Subscription]:
        """Active and Stopped records (or only `status`) by product, company and partition."""
        reach = await self._access.reach(actor)
        return await self._store.subscriptions.live(
            reach.client_id, _status(status), companies=reach.company_list, limit=MAX_LISTED
        )

    async def record(self, actor: Actor, record_id: str) -> models.Subscription:
        """One live record the actor may act on; NotFound otherwise."""
        return await self._access.record(actor, record_id)

    async def reactivate(self, actor: Actor, record_id: str) -> int:
        """Challenge the record's url again and, when it answers, make every Stopped record of
        the url Active; how many were Stopped. A host that needs the operator's approval must
        have it first, as for a POST. Nothing changes when the gate or the challenge refuses."""
        record = await self.record(actor, record_id)
        owner = Owner.of(record)
        existing = await self._store.subscriptions.of_url(owner, record.callback_url)
        stopped = [r for r in existing if r.status is models.SubscriptionStatus.STOPPED]
        if not stopped:
            raise errors.Conflict("This url is not Stopped; there is nothing to reactivate.")
        changes = subscriptions.plan(
            owner,
            record.callback_url,
            existing,
            [(r.event_type, r.filter_value) for r in stopped],
            supplied_secret=None,
            replace=False,
            now=self._now(),
            overlap=self._overlap,
        )
        await self._approvals.gate(owner, record.callback_url)
        await self._challenge(record.callback_url)
        await self._save(changes.changed)
        log.info("subscription reactivated", extra={"client_id": record.client_id})
        was_stopped = {r.id for r in stopped}
        again = [r for r in changes.changed if r.id in was_stopped]
        if self._on_reactivated is not None and again:
            await self._on_reactivated(again)
        return len(stopped)

    async def rotate_secret(self, actor: Actor, record_id: str) -> str:
        """A new secret key for every record of the record's url; the new key, shown once."""
        record = await self.record(actor, record_id)
        existing = await self._store.subscriptions.of_url(Owner.of(record), record.callback_url)
        secret = subscriptions.url_secret(
            existing, signing.generate_secret(), self._now(), self._overlap
        )
        await self._save([secret.apply(r) for r in existing])
        log.info("subscription secret rotated", extra={"client_id": record.client_id})
        return secret.key

    @property
    def _overlap(self) -> timedelta:
        return timedelta(hours=self._settings.secret_overlap_hours)

    async def _save(self, changed: list[models.Subscription]) -> None:
        await self._store.subscriptions.save(
            [], changed, client_limit=self._settings.max_subscriptions_per_client
        )

    async def _challenge(self, url: str) -> None:
        result = await self._prober.challenge(url)
        if not result.passed:
            raise errors.ChallengeFailed(
                f"The challenge to {url} failed: {result.detail}. Make the receiver answer "
                "GET <url>?challenge=<value> with 200 and the value, then try again; the url "
                "stays Stopped."
            )


def _status(value: str | None) -> models.SubscriptionStatus | None:
    if not value:
        return None
    try:
        return models.SubscriptionStatus(value)
    except ValueError:
        raise errors.InvalidInput.field("status", "must be Active or Stopped") from None
