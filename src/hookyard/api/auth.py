"""Bearer-token authentication and scope checks, as route dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hookyard import errors, models
from hookyard.api.context import context

bearer = HTTPBearer(auto_error=False, description="An access token from /identity/connect/token")
Credential = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def principal(request: Request, credential: Credential) -> models.Principal:
    """The caller, from its bearer token; 401 when there is none or it is not valid."""
    if credential is None or credential.scheme.lower() != "bearer":
        raise errors.Unauthenticated(
            "Send an access token: Authorization: Bearer <token from /identity/connect/token>."
        )
    return await context(request).identity.authenticate(credential.credentials)


def require_scope(scope: str) -> Callable[..., Awaitable[models.Principal]]:
    """A dependency that admits only tokens with `scope`."""

    async def dependency(
        caller: Annotated[models.Principal, Depends(principal)],
    ) -> models.Principal:
        if not caller.has_scope(scope):
            raise errors.Forbidden(
                f"This token lacks the scope {scope}; request a token with scope={scope}."
            )
        return caller

    return dependency


def company_of(caller: models.Principal) -> str:
    """The caller's company; 403 for a token that acts for none (a partner without a company)."""
    if caller.company_id is None:
        raise errors.Forbidden(
            "This token acts for no company; partners use grant_type=company with a CompanyId."
        )
    return caller.company_id
