"""`/identity`: the token endpoint (RFC 6749, client credentials and the partner grant) and the
public keys that verify the tokens (JWKS)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hookyard import errors, metrics
from hookyard.api.context import context

router = APIRouter(prefix="/identity", tags=["Identity"])
FORM = "application/x-www-form-urlencoded"
TOKEN_FORM_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials", "company"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "scope": {"type": "string"},
                        "CompanyId": {"type": "string"},
                    },
                }
            }
        },
    }
}


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise errors.InvalidRequest("The Basic authorization header is not valid base64.") from exc
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise errors.InvalidRequest("The Basic authorization header must be id:secret.")
    return unquote(client_id), unquote(secret)


async def _form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise errors.InvalidRequest(f"Send the token request as {FORM}.")
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.post(
    "/connect/token",
    operation_id="Identity_Token",
    summary="Request an access token",
    openapi_extra=TOKEN_FORM_SCHEMA,
)
async def token(request: Request) -> JSONResponse:
    """Client credentials (or, for partners, `grant_type=company` with `CompanyId`)."""
    source = request.client.host if request.client else None
    try:
        granted = await context(request).identity.grant(
            await _form(request), _basic(request), source
        )
    except errors.OAuthError as exc:
        metrics.token_request(exc.error)
        raise
    except errors.RateLimited:
        metrics.token_request("throttled")
        raise
    metrics.token_request("issued")
    body = {
        "access_token": granted.access_token,
        "token_type": granted.token_type,
        "expires_in": granted.expires_in,
        "scope": granted.scope,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/.well-known/jwks.json", operation_id="Identity_Jwks", summary="Token signing keys")
async def jwks(request: Request) -> dict[str, Any]:
    """The public keys that verify Hookyard's access tokens."""
    return context(request).identity.jwks()


@router.get(
    "/.well-known/openid-configuration",
    operation_id="Identity_Discovery",
    summary="Token service metadata",
)
async def discovery(request: Request) -> dict[str, Any]:
    issuer = context(request).identity.issuer
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/connect/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials", "company"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
    }
