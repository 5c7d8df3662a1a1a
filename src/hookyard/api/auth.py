"""Bearer-token authentication and scope checks, as route dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hookyard import errors, models
from hookyard.api.context import context
from hookyard.services.access import Actor, Door

bearer = HTTPBearer(auto_error=False, description="An access token from /identity/connect/token")
Credential = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def principal(request: Request, credential: Credential) -> models.Principal:
    """The caller, from its bearer token; 401 when there is none or it is not valid."""
    if credential is None or credential.scheme.lower() != "bearer":
        raise errors.Unauthenticated(
            "Send an access token: Authorization: Bearer <token from /identity/connect/token>."
        )
    return await context(request).identity.authenticate(credential.credentials)


async def actor(caller: Annotated[models.Principal, Depends(principal)]) -> Actor:
    """The caller as the services' actor (through the API)."""
    return Actor.of_principal(caller, Door.API)


Acting = Annotated[Actor, Depends(actor)]


def require_scope(scope: str) -> Callable[..., Awaitable[models.Principal]]:
    """A dependency that admits only tokens with `scope`."""

    async def dependency(
        caller: Annotated[models.Principal, Depends(principal)],
    ) -> models.Principal:
        return scoped(caller, scope)

    return dependency


def scoped(caller: models.Principal, scope: str) -> models.Principal:
    """`caller` when its token holds `scope`; Forbidden otherwise."""
    if not caller.has_scope(scope):
        raise errors.Forbidden(
            f"This token lacks the scope {scope}; request a token with scope={scope}."
        )
    return caller
