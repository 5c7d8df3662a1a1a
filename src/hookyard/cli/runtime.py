"""The composition root: settings in, a wired Hookyard out (store, services, HTTP app)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI

from hookyard import catalog as catalogs
from hookyard.api.app import create_app
from hookyard.api.context import AppContext, Intake
from hookyard.catalog import Catalog
from hookyard.config import Settings
from hookyard.delivery import prober
from hookyard.delivery.netguard import Guard
from hookyard.services import identity
from hookyard.services.approvals import Approvals
from hookyard.services.credentials import Credentials
from hookyard.services.identity import Identity
from hookyard.services.keys import KeyRing
from hookyard.services.subscriptions import Subscriptions
from hookyard.services.throttle import FailureThrottle, Limit
from hookyard.store import Store


def known_scopes(catalog: Catalog) -> list[str]:
    """Every scope a client may be granted: the products' and Hookyard's own."""
    product_scopes = list(dict.fromkeys(p.scope for p in catalog.products.values()))
    return [*product_scopes, identity.EVENTS_PUBLISH, identity.ADMIN]


def issuer(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + "/identity"


@dataclass
class Runtime:
    """Everything one Hookyard process holds."""

    settings: Settings
    catalog: Catalog
    store: Store
    keys: KeyRing
    identity: Identity
    credentials: Credentials
    subscriptions: Subscriptions
    approvals: Approvals
    intake: Intake = field(default_factory=Intake)

    def context(self) -> AppContext:
        return AppContext(
            settings=self.settings,
            catalog=self.catalog,
            store=self.store,
            identity=self.identity,
            credentials=self.credentials,
            subscriptions=self.subscriptions,
            approvals=self.approvals,
            intake=self.intake,
        )

    def app(self) -> FastAPI:
        """The HTTP app; closing it (lifespan end) closes the runtime."""
        app = create_app(self.context())

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


def token_throttle(settings: Settings) -> FailureThrottle:
    """The token endpoint's limits on failed client authentications."""
    window = settings.token_failure_window_seconds
    return FailureThrottle(
        per_client=Limit(settings.token_failures_per_client, window),
        per_address=Limit(settings.token_failures_per_address, window),
    )


def build(settings: Settings) -> Runtime:
    """Wire a runtime for `settings` (the database must already be migrated)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = catalogs.load(settings.catalog_file)
    store = Store.from_settings(settings)
    keys = KeyRing(settings.data_dir / "jwt")
    credentials = Credentials(store, known_scopes(catalog))
    guard = Guard.from_settings(settings)
    challenges = prober.Prober(guard, timeout=settings.challenge_timeout_seconds)
    approvals = Approvals(store, settings.approval_hosts, contact=settings.approval_contact)
    subscriptions = Subscriptions(store, settings, challenges, approvals=approvals)
    credentials.on_connection_change(subscriptions.connection_changed)
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
            throttle=token_throttle(settings),
            cache_seconds=settings.auth_cache_seconds,
        ),
        credentials=credentials,
        subscriptions=subscriptions,
        approvals=approvals,
    )
