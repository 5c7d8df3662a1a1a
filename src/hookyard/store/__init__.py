"""The store: the only code that knows SQL and database drivers.

`Store` is the facade the rest of Hookyard holds; each repository owns the queries of one area.
Driver errors are translated into `hookyard.errors` here, with the cause kept.
"""

from __future__ import annotations

import time

from hookyard import clock
from hookyard.config import Settings
from hookyard.store import queue
from hookyard.store.approvals import ApprovalRepository
from hookyard.store.auth_failures import AuthFailureRepository
from hookyard.store.catchup import CatchUpRepository
from hookyard.store.database import Database
from hookyard.store.events import EventRepository
from hookyard.store.fingerprints import KeyFingerprintRepository
from hookyard.store.heartbeats import HeartbeatRepository
from hookyard.store.history import DeliveryHistory
from hookyard.store.overview import OverviewRepository
from hookyard.store.retention import Retention
from hookyard.store.sealing import Sealer, sealer_for
from hookyard.store.sessions import SessionRepository
from hookyard.store.stats import StatsRepository
from hookyard.store.stopped import StoppedRepository
from hookyard.store.subscriptions import SubscriptionRepository
from hookyard.store.tenants import TenantRepository
from hookyard.store.wakeup import Wakeup

__all__ = ["Store"]


class Store:
    """One database and its repositories.

    `auth_cache_seconds` is how long token checks may use a client or partner connection read
    earlier (see `hookyard.store.tenants`); 0, the default here, reads it every time.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        sealer: Sealer | None = None,
        auth_cache_seconds: float = 0.0,
        monotonic: clock.Monotonic = time.monotonic,
    ) -> None:
        self.db = Database(url, pool_size=pool_size)
        self.sealer = sealer or Sealer()
        self.tenants = TenantRepository(
            self.db, cache_seconds=auth_cache_seconds, monotonic=monotonic
        )
        self.subscriptions = SubscriptionRepository(self.db, self.sealer)
        self.wakeup = Wakeup(self.db.url)
        self.queue: queue.QueueBackend = queue.backend_for(
            self.db, self.wakeup.notify, pool_size=pool_size
        )
        self.events = EventRepository(self.db)
        self.history = DeliveryHistory(self.db, self.queue)
        self.retention = Retention(self.db)
        self.sessions = SessionRepository(self.db)
        self.overview = OverviewRepository(self.db)
        self.approvals = ApprovalRepository(self.db)
        self.stats = StatsRepository(self.db)
        self.catchup = CatchUpRepository(self.db, self.sealer)
        self.stopped = StoppedRepository(self.db, self.queue)
        self.fingerprints = KeyFingerprintRepository(self.db)
        self.auth_failures = AuthFailureRepository(self.db, monotonic=monotonic)
        self.heartbeats = HeartbeatRepository(self.db)

    @classmethod
    def from_settings(cls, settings: Settings, *, pool_size: int = 10) -> Store:
        """The deployment's store, sealing secrets at rest with its keys."""
        return cls(
            settings.database_url,
            pool_size=pool_size,
            sealer=sealer_for(settings),
            auth_cache_seconds=settings.auth_cache_seconds,
        )

    async def close(self) -> None:
        await self.queue.close()
        await self.db.dispose()
