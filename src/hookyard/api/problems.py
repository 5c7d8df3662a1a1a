"""The one place errors become HTTP responses: problem+json (RFC 9457), and RFC 6749 §5.2 JSON
for the token endpoint. Never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hookyard import errors

PROBLEM = "application/problem+json"
log = logging.getLogger("hookyard.api")


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    field_errors: Mapping[str, Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    problem_type: str = errors.PROBLEM_TYPE,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": problem_type, "title": title, "status": status}
    body["detail"] = detail
    if field_errors:
        body["errors"] = {key: list(value) for key, value in field_errors.items()}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=dict(headers or {}))


def _headers(exc: errors.HookyardError) -> dict[str, str]:
    if isinstance(exc, errors.Unauthenticated):
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    if exc.retry_after is not None:
        return {"Retry-After": str(exc.retry_after)}
    return {}


async def _hookyard_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.HookyardError)
    return error_response(exc)


def error_response(exc: errors.HookyardError) -> JSONResponse:
    """The answer to `exc`: problem+json, or RFC 6749 JSON for an OAuth error."""
    if exc.operator_detail:
        log.error("%s", exc.operator_detail, extra={"code": exc.code})
    if isinstance(exc, errors.OAuthError):
        headers = {"Cache-Control": "no-store"}
        if isinstance(exc, errors.InvalidClient):
            headers["WWW-Authenticate"] = 'Basic realm="hookyard"'
        body = {"error": exc.error, "error_description": exc.detail}
        return JSONResponse(body, status_code=exc.status, headers=headers)
    field_errors = exc.errors if isinstance(exc, errors.InvalidInput) else None
    return problem(
        exc.status,
        exc.title,
        exc.detail,
        field_errors=field_errors,
        headers=_headers(exc),
        problem_type=exc.problem_type,
    )


def _location(loc: Sequence[Any]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        return "is not a known field; remove it"
    if error.get("type") == "missing":
        return "is required"
    return str(error.get("msg", "is invalid"))


def _sends_json(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _body_problem(request: Request, error: Mapping[str, Any]) -> tuple[str, str] | None:
    """The body as a whole is wrong: not JSON, or not sent as JSON."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        reason = str((error.get("ctx") or {}).get("error", "not valid JSON"))
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        return "body", f"is not valid JSON: {reason.lower()}{where}; send a JSON document"
    if loc[:1] == ("body",) and request.method in ("POST", "PUT") and not _sends_json(request):
        shown = request.headers.get("content-type") or "none"
        return "Content-Type", (
            f"must be application/json (the request said {shown}); send the body as JSON "
            "with Content-Type: application/json"
        )
    return None


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    field_errors: dict[str, list[str]] = {}
    for error in exc.errors():
        whole = _body_problem(request, error)
        if whole is not None:
            field_errors = {whole[0]: [whole[1]]}
            break
        field_errors.setdefault(_location(error.get("loc", ())), []).append(_message(error))
    summary = "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in field_errors.items())
    return problem(400, "Invalid request", summary, field_errors=field_errors)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = str(exc.detail)
    if exc.status_code == 404:
        detail = "There is nothing at this path; see /docs for the API."
    elif exc.status_code == 405:
        detail = "This path does not take that method; see /docs for the API."
    headers = dict(exc.headers or {})
    return problem(exc.status_code, detail.split(";")[0], detail, headers=headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    return unexpected(exc)


def unexpected(exc: Exception) -> JSONResponse:
    """The answer to an error no one foresaw: logged with its traceback, a 500 without one."""
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "Internal error", "Hookyard failed to answer; the error was logged.")


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(errors.HookyardError, _hookyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
