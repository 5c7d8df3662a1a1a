"""What the HTTP layer needs, wired by the composition root (`hookyard.cli.runtime`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from hookyard import errors
from hookyard.catalog import Catalog
from hookyard.config import Settings
from hookyard.services.alerts import Alerts, OperationalEvents
from hookyard.services.approvals import Approvals
from hookyard.services.business_units import BusinessUnits
from hookyard.services.catchup import CatchUpService
from hookyard.services.credentials import Credentials
from hookyard.services.deliveries import DeliveryService
from hookyard.services.events import EventService
from hookyard.services.health import Health
from hookyard.services.identity import Identity
from hookyard.services.subscription_search import SubscriptionSearch
from hookyard.services.subscriptions import Subscriptions


class Intake:
    """Whether this process accepts events now. `hookyard serve` closes it while its own
    delivery worker is down, so that no event is accepted that no one would deliver."""

    def __init__(self) -> None:
        self.closed_because: str | None = None

    def close(self, reason: str) -> None:
        """Refuse events (503) with `reason`, which says what to do."""
        self.closed_because = reason

    def open(self) -> None:
        self.closed_because = None


@dataclass(frozen=True)
class AppContext:
    """The settings, catalog and services the routes use."""

    settings: Settings
    catalog: Catalog
    identity: Identity
    credentials: Credentials
    subscriptions: Subscriptions
    approvals: Approvals
    alerts: Alerts
    events: OperationalEvents
    health: Health
    business_units: BusinessUnits
    subscription_search: SubscriptionSearch
    deliveries: DeliveryService
    catchup: CatchUpService
    publishing: EventService
    """One per process, so that its cache of the companies and business units events name
    lives across requests."""
    intake: Intake = field(default_factory=Intake)


def open_publishing(ctx: AppContext) -> EventService:
    """The publishing service while this process accepts events; Unavailable (503) otherwise."""
    if ctx.intake.closed_because is not None:
        raise errors.Unavailable(ctx.intake.closed_because)
    return ctx.publishing


def context(request: Request) -> AppContext:
    """The app's context, for route dependencies."""
    value: AppContext = request.app.state.context
    return value
