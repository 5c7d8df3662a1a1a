"""The console's HTTP plumbing: templates, the session cookie, CSRF checks, and one place where
an error becomes a page instead of problem+json, with the status (and Retry-After) its class in
`hookyard.errors` carries. An unexpected
one is a 500 page (logged), so it carries the console's headers like every other page."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

import jinja2
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from starlette.templating import Jinja2Templates

from hookyard import errors
from hookyard.console.context import console
from hookyard.services.sessions import ConsoleSession

log = logging.getLogger("hookyard.console")
PREFIX = "/console"
FAILED = (
    "Hookyard failed to answer; the error was logged. Reload to see what was done, and tell "
    "the operator if it happens again."
)
SESSION_COOKIE = "hookyard_console"
LOGIN_COOKIE = "hookyard_console_login"
log = logging.getLogger("hookyard.console")

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.PackageLoader("hookyard.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
)
templates.env.filters["when"] = lambda value: f"{value:%Y-%m-%d %H:%M:%S}Z" if value else ""


class CsrfRefused(errors.Forbidden):
    """A form came without this session's CSRF token."""


class SignInRequired(errors.Unauthenticated):
    """No live session: the sign-in page answers, with why."""


def page(
    request: Request,
    name: str,
    values: Mapping[str, Any] | None = None,
    *,
    session: ConsoleSession | None = None,
    status: int = 200,
) -> Response:
    """Render template `name` inside the layout (navigation for `session`)."""
    context = {"session": session, "prefix": PREFIX, "notice": "", **(values or {})}
    return templates.TemplateResponse(request, name, context, status_code=status)


def status_of(exc: errors.HookyardError) -> int:
    """The status of a page that shows `exc`: the one its class carries."""
    return exc.status


class ConsoleRoute(APIRoute):
    """A route whose Hookyard errors render as console pages: a missing or ended session as
    the sign-in page (401), anything else as an error page that says nothing was changed."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return sign_in_page(request, exc.detail)
            except errors.HookyardError as exc:
                return error_page(request, exc)
            except Exception:
                log.exception("unhandled error in the console")
                return failure_page(request)

        return handle


def sign_in_page(request: Request, message: str = "", status: int = 401) -> Response:
    """The sign-in form with a fresh login CSRF token (double-submitted: cookie and field)."""
    token = secrets.token_urlsafe(32)
    response = page(request, "login.html", {"message": message, "csrf": token}, status=status)
    response.set_cookie(LOGIN_COOKIE, token, **cookie_rules(request))
    return response


def cookie_rules(request: Request) -> dict[str, Any]:
    """How the console's cookies are set: `HttpOnly`, `SameSite=Strict`, on `/console` only, and
    `Secure` when the browser reached Hookyard over https (the public base url says so, or the
    request came over https, directly or through a proxy uvicorn trusts with X-Forwarded-Proto)."""
    secure = console(request).secure_cookies or request.url.scheme == "https"
    return {"httponly": True, "samesite": "strict", "secure": secure, "path": PREFIX}


def forget(response: Response, request: Request, name: str) -> None:
    """Delete cookie `name`, with the attributes it was set with."""
    response.delete_cookie(name, **cookie_rules(request))


def error_page(request: Request, exc: errors.HookyardError) -> Response:
    """The page that says what went wrong and that nothing was changed; an error only the
    operator can fix is logged for them once."""
    if exc.operator_detail:
        log.error("%s", exc.operator_detail, extra={"code": exc.code})
    values = {
        "title": exc.title,
        "detail": exc.summary or exc.detail,
        "fields": getattr(exc, "errors", {}),
        "unchanged": True,
    }
    session = getattr(request.state, "console_session", None)
    response = page(request, "error.html", values, session=session, status=exc.status)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def failure_page(request: Request) -> Response:
    """500 as a console page (with the console's headers), saying nothing of the cause."""
    values = {"title": "Internal error", "detail": FAILED, "fields": {}, "unchanged": False}
    session = getattr(request.state, "console_session", None)
    return page(request, "error.html", values, session=session, status=500)


async def signed_in(request: Request) -> ConsoleSession:
    """The request's session; SignInRequired (the sign-in page) when it has none."""
    try:
        session = await console(request).sessions.current(request.cookies.get(SESSION_COOKIE))
    except errors.Unauthenticated as exc:
        raise SignInRequired(exc.detail) from exc
    request.state.console_session = session
    return session


Session = Annotated[ConsoleSession, Depends(signed_in)]


async def form_of(request: Request, session: Session) -> dict[str, str]:
    """A POSTed form of this session, refused (403, nothing done) without its CSRF token."""
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    if not session.csrf_matches(values.get("csrf")):
        raise CsrfRefused(
            "This form's security token is missing or wrong, so nothing was done. Reload the "
            "page and submit the form again."
        )
    return values


Form = Annotated[dict[str, str], Depends(form_of)]


def redirect(path: str) -> Response:
    """See Other: after a form's action, the browser loads `path`."""
    return Response(status_code=303, headers={"Location": PREFIX + path})
