"""The operator's pages: every tenant, and the delivery queue per host. Only a session of a
client with `hookyard:admin` sees them; any other gets 403."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from hookyard import errors
from hookyard.console import web
from hookyard.console.context import console
from hookyard.services.sessions import ConsoleSession

router = APIRouter(route_class=web.ConsoleRoute, include_in_schema=False)


def _operator(session: ConsoleSession) -> None:
    if not session.is_operator:
        raise errors.Forbidden("This page is for the operator (a client with hookyard:admin).")


@router.get("/tenants")
async def tenants(request: Request, session: web.Session) -> Response:
    _operator(session)
    values = {"tenants": await console(request).overview.tenants()}
    return web.page(request, "tenants.html", values, session=session)


@router.get("/queue")
async def queue(request: Request, session: web.Session) -> Response:
    _operator(session)
    values = {"hosts": await console(request).overview.queue()}
    return web.page(request, "queue.html", values, session=session)
