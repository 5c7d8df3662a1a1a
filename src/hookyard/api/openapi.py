"""The OpenAPI document: FastAPI's, with every error Hookyard can answer documented as
problem+json (RFC 9457) and the token endpoint's as RFC 6749 JSON. Validation errors are 400
here, not FastAPI's 422, so 422 is dropped."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
OAUTH_REF = {"$ref": "#/components/schemas/OAuthError"}
PROBLEM: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}
OAUTH_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
ERRORS = {
    "400": "Invalid request: the detail and `errors` say what to fix",
    "401": "No, bad, expired or revoked access token",
    "403": "The token lacks the scope, or the tenant is outside its access",
    "404": "No such record for this caller",
    "409": "The request clashes with stored state",
    "413": "The body is larger than the limit",
    "429": "Too many requests; retry after Retry-After seconds",
    "431": "The headers are larger than the limit",
    "500": "Hookyard failed to answer; the error was logged",
    "503": (
        "Nothing was changed: the database is not answering or the disk under it is full (retry "
        "after Retry-After seconds), or Hookyard cannot read its sealed secrets (the operator "
        "has been told)"
    ),
}
TOKEN_ERRORS = {"400", "401", "429"}
PUBLISH_ERRORS = {
    "422": "The Idempotency-Key was sent before with a different request; use a new key",
}


def _document_errors(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    token = path.endswith("/connect/token")
    errors = {**ERRORS, **(PUBLISH_ERRORS if path.startswith("/events/") else {})}
    for status, description in sorted(errors.items()):
        if status in responses:
            continue
        schema = OAUTH_REF if token and status in TOKEN_ERRORS else PROBLEM_REF
        media = "application/json" if schema is OAUTH_REF else "application/problem+json"
        responses[status] = {"description": description, "content": {media: {"schema": schema}}}


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, built once."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path, item in spec.get("paths", {}).items():
        for operation in item.values():
            _document_errors(path, operation)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM
    schemas["OAuthError"] = OAUTH_ERROR
    app.openapi_schema = spec
    return spec


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
