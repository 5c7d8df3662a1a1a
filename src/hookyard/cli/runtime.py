"""The composition root: settings in, a wired Hookyard out (store, services, HTTP app)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import FastAPI

from hookyard import catalog as catalogs
from hookyard import clock
from hookyard.api.app import create_app
from hookyard.api.context import AppContext, Intake
from hookyard.catalog import Catalog
from hookyard.config import Settings
from hookyard.console import app as console_app
from hookyard.console.context import ConsoleContext
from hookyard.delivery import prober
from hookyard.delivery.netguard import Guard
from hookyard.services import access, identity
from hookyard.services import keys as signing_keys
from hookyard.services.alerts import Alerts, OperationalEvents
from hookyard.services.approvals import Approvals
from hookyard.services.business_units import BusinessUnits
from hookyard.services.catchup import CatchUpService
from hookyard.services.credentials import Credentials
from hookyard.services.deliveries import DeliveryService
from hookyard.services.events import EventService
from hookyard.services.health import Health
from hookyard.services.identity import Identity
from hookyard.services.overview import Overview
from hookyard.services.records import RecordActions
from hookyard.services.sessions import ConsoleSessions
from hookyard.services.subscription_search import SubscriptionSearch
from hookyard.services.subscriptions import Prober, Subscriptions
from hookyard.services.test_events import TestEvents
from hookyard.services.throttle import FailureThrottle, Limit
from hookyard.store import Store, migrate


def known_scopes(catalog: Catalog) -> list[str]:
    """Every scope a client may be granted: the products' and Hookyard's own."""
    product_scopes = list(dict.fromkeys(p.scope for p in catalog.products.values()))
    return [*product_scopes, identity.EVENTS_PUBLISH, identity.ADMIN, access.OPERATOR]


def issuer(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + "/identity"


@dataclass
class Runtime:
    """Everything one Hookyard process holds."""

    settings: Settings
    catalog: Catalog
    store: Store
    keys: signing_keys.SigningKeys
    identity: Identity
    credentials: Credentials
    subscriptions: Subscriptions
    prober: Prober
    approvals: Approvals
    alerts: Alerts
    events: OperationalEvents
    health: Health
    intake: Intake = field(default_factory=Intake)

    def context(self) -> AppContext:
        return AppContext(
            settings=self.settings,
            catalog=self.catalog,
            identity=self.identity,
            credentials=self.credentials,
            subscriptions=self.subscriptions,
            approvals=self.approvals,
            alerts=self.alerts,
            events=self.events,
            health=self.health,
            business_units=BusinessUnits(self.store),
            subscription_search=SubscriptionSearch(self.store),
            deliveries=self.deliveries(),
            catchup=CatchUpService(self.store),
            publishing=EventService(
                self.store,
                self.catalog,
                public_base_url=self.settings.public_base_url,
                max_batch_events=self.settings.max_batch_events,
            ),
            intake=self.intake,
        )

    def deliveries(self) -> DeliveryService:
        """Delivery inspection and re-queueing, announcing recoveries as operational events."""
        return DeliveryService(self.store, on_recovered=self.events.recovered)

    def console_context(self) -> ConsoleContext:
        settings = self.settings
        return ConsoleContext(
            settings=settings,
            catalog=self.catalog,
            sessions=ConsoleSessions(
                self.store,
                self.identity,
                lifetime=timedelta(minutes=settings.console_session_minutes),
            ),
            deliveries=self.deliveries(),
            records=RecordActions(
                self.store,
                settings,
                self.prober,
                approvals=self.approvals,
                on_reactivated=self.events.reactivated,
            ),
            test_events=TestEvents(
                self.store,
                self.catalog,
                public_base_url=settings.public_base_url,
                approvals=self.approvals,
            ),
            overview=Overview(self.store),
            approvals=self.approvals,
            alerts=self.alerts,
        )

    def app(self) -> FastAPI:
        """The HTTP app and the console; closing it (lifespan end) closes the runtime."""
        app = create_app(self.context())
        console_app.install(app, self.console_context())

        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            try:
                yield
            finally:
                await self.close()

        app.router.lifespan_context = lifespan
        return app

    async def close(self) -> None:
        await self.store.close()


def token_throttle(
    settings: Settings, store: Store, now: clock.Clock = clock.utcnow
) -> FailureThrottle:
    """The token endpoint's limits on failed client authentications."""
    window = settings.token_failure_window_seconds
    wait = settings.token_failure_wait_seconds
    return FailureThrottle(
        store.auth_failures,
        per_client=Limit(settings.token_failures_per_client, window, wait),
        per_address=Limit(settings.token_failures_per_address, window, wait),
        now=now,
    )


def build(settings: Settings) -> Runtime:
    """Wire a runtime for `settings` (the database must already be migrated)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = catalogs.load(settings.catalog_file)
    store = Store.from_settings(settings)
    keys = signing_keys.ring_for(settings)
    credentials = Credentials(store, known_scopes(catalog))
    guard = Guard.from_settings(settings)
    challenges = prober.Prober(guard, timeout=settings.challenge_timeout_seconds)
    approvals = Approvals(store, settings.approval_hosts, contact=settings.approval_contact)
    subscriptions = Subscriptions(store, settings, challenges, approvals=approvals)
    credentials.on_connection_change(subscriptions.connection_changed)
    events = OperationalEvents(store)
    subscriptions.on_reactivated(events.reactivated)
    subscriptions.on_stopped(events.stopped)
    approvals.on_requested(events.approval_requested)
    return Runtime(
        settings=settings,
        catalog=catalog,
        store=store,
        keys=keys,
        identity=Identity(
            store,
            keys,
            issuer=issuer(settings),
            ttl_seconds=settings.token_ttl_seconds,
            throttle=token_throttle(settings, store),
            cache_seconds=settings.auth_cache_seconds,
        ),
        credentials=credentials,
        subscriptions=subscriptions,
        prober=challenges,
        approvals=approvals,
        alerts=Alerts(store, subscriptions),
        events=events,
        health=Health(store, migrate.heads, worker_within_seconds=settings.ready_worker_seconds),
    )
