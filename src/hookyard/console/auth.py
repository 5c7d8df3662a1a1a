"""Signing in (client id and secret) and out of the console."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response

from hookyard import errors
from hookyard.console import web
from hookyard.console.context import console

router = APIRouter(route_class=web.ConsoleRoute, include_in_schema=False)


@router.get("/login")
async def login_form(request: Request) -> Response:
    return web.sign_in_page(request, status=200)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    expected = request.cookies.get(web.LOGIN_COOKIE, "")
    supplied = values.get("csrf", "")
    if not expected or not hmac.compare_digest(expected, supplied):
        return web.sign_in_page(
            request, "The sign-in form had expired; sign in again on this page.", status=403
        )
    host = request.client.host if request.client else None
    try:
        signed = await console(request).sessions.sign_in(
            values.get("client_id", ""),
            values.get("client_secret", ""),
            host,
            replacing=request.cookies.get(web.SESSION_COOKIE),
        )
    except (errors.Unauthenticated, errors.Forbidden, errors.RateLimited) as exc:
        return web.sign_in_page(request, exc.detail, status=web.status_of(exc))
    response = web.redirect("/")
    response.set_cookie(
        web.SESSION_COOKIE,
        signed.token,
        max_age=console(request).settings.console_session_minutes * 60,
        **web.cookie_rules(request),
    )
    web.forget(response, request, web.LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, _form: web.Form) -> Response:
    await console(request).sessions.sign_out(request.cookies.get(web.SESSION_COOKIE))
    response = web.redirect("/login")
    web.forget(response, request, web.SESSION_COOKIE)
    return response
