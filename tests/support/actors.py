"""Actors for calling the services directly in tests: the operator at the shell, and a client
acting through the API."""

from __future__ import annotations

from collections.abc import Iterable

from hookyard.services.access import Actor, Door

OPERATOR = Actor.shell("ops")


def integrator(client_id: str, company_id: str | None = None, scopes: Iterable[str] = ()) -> Actor:
    """A company's client acting through the API with `scopes`."""
    return Actor(Door.API, client_id, company_id, None, frozenset(scopes), ("*",), client_id)
