"""What the console does to subscription records by id: list them with their Stop reason,
reactivate a Stopped url (its challenge runs again), rotate a url's secret key (the old one keeps
signing beside the new one for `secret_overlap_hours`).

An integrator (`client_id` given) reaches its own records only; any other id is NotFound, the
same answer as for an id that does not exist. The operator (`client_id` None) reaches them all.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from hookyard import clock, errors, models, signing
from hookyard.config import Settings
from hookyard.services import subscriptions
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
        on_reactivated: subscriptions.RecordsHook | None = None,
        now: clock.Clock = clock.utcnow,
    ) -> None:
        self._store = store
        self._settings = settings
        self._prober = prober
        self._on_reactivated = on_reactivated
        self._now = now

    async def listed(
        self, client_id: str | None, status: str | None = None
    ) -> list[models.Subscription]:
        """Active and Stopped records (or only `status`) by product, company and partition."""
        return await self._store.subscriptions.live(client_id, _status(status), limit=MAX_LISTED)

    async def record(self, client_id: str | None, record_id: str) -> models.Subscription:
        """One live record the caller may act on; NotFound otherwise."""
        record = await self._store.subscriptions.get(record_id)
        if (
            record is None
            or record.status is models.SubscriptionStatus.DELETED
            or (client_id is not None and record.client_id != client_id)
        ):
            raise errors.NotFound(
                f"There is no subscription record {record_id!r} for you; pick one from the list."
            )
        return record

    async def reactivate(self, client_id: str | None, record_id: str) -> int:
        """Challenge the record's url again and, when it answers, make every Stopped record of
        the url Active; how many were Stopped. Nothing changes when the challenge fails."""
        record = await self.record(client_id, record_id)
        owner = _owner(record)
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
        await self._challenge(record.callback_url)
        await self._save(changes.changed)
        log.info("subscription reactivated", extra={"client_id": record.client_id})
        was_stopped = {r.id for r in stopped}
        again = [r for r in changes.changed if r.id in was_stopped]
        if self._on_reactivated is not None and again:
            await self._on_reactivated(again)
        return len(stopped)

    async def rotate_secret(self, client_id: str | None, record_id: str) -> str:
        """A new secret key for every record of the record's url; the new key, shown once."""
        record = await self.record(client_id, record_id)
        existing = await self._store.subscriptions.of_url(_owner(record), record.callback_url)
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


def _owner(record: models.Subscription) -> Owner:
    return Owner(record.client_id, record.product, record.company_id, record.partition_value or "")


def _status(value: str | None) -> models.SubscriptionStatus | None:
    if not value:
        return None
    try:
        return models.SubscriptionStatus(value)
    except ValueError:
        raise errors.InvalidInput.field("status", "must be Active or Stopped") from None
