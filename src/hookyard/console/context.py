"""What the console needs, wired by the composition root (`hookyard.cli.runtime`)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from hookyard.catalog import Catalog
from hookyard.config import Settings
from hookyard.services.alerts import Alerts
from hookyard.services.approvals import Approvals
from hookyard.services.deliveries import DeliveryService
from hookyard.services.overview import Overview
from hookyard.services.records import RecordActions
from hookyard.services.sessions import ConsoleSessions
from hookyard.services.test_events import TestEvents


@dataclass(frozen=True)
class ConsoleContext:
    """The settings, catalog and services the console's pages use."""

    settings: Settings
    catalog: Catalog
    sessions: ConsoleSessions
    deliveries: DeliveryService
    records: RecordActions
    test_events: TestEvents
    overview: Overview
    approvals: Approvals
    alerts: Alerts

    @property
    def secure_cookies(self) -> bool:
        """Whether every cookie is `Secure`, whatever the request: the public url is https."""
        return self.settings.public_base_url.startswith("https://")


def console(request: Request) -> ConsoleContext:
    """The console's context, for route dependencies."""
    value: ConsoleContext = request.app.state.console
    return value
