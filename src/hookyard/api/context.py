"""What the HTTP layer needs, wired by the composition root (`hookyard.cli.runtime`)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from hookyard.catalog import Catalog
from hookyard.config import Settings
from hookyard.services.approvals import Approvals
from hookyard.services.credentials import Credentials
from hookyard.services.identity import Identity
from hookyard.services.subscriptions import Subscriptions
from hookyard.store import Store


@dataclass(frozen=True)
class AppContext:
    """The settings, catalog and services the routes use."""

    settings: Settings
    catalog: Catalog
    store: Store
    identity: Identity
    credentials: Credentials
    subscriptions: Subscriptions
    approvals: Approvals


def context(request: Request) -> AppContext:
    """The app's context, for route dependencies."""
    value: AppContext = request.app.state.context
    return value
