"""The operator's pages: every tenant, and the delivery queue per host. Only a session of a
client with `hookyard:admin` sees them; any other gets 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from hookyard import errors
from hookyard.console import web
from hookyard.console.context import console
from hookyard.services.sessions import ConsoleSession

router = APIRouter(route_class=web.ConsoleRoute, include_in_schema=False)
DECIDED = {"approved": "Approved.", "rejected": "Rejected."}


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


@router.get("/approvals")
async def approvals(
    request: Request,
    session: web.Session,
    status: Annotated[str, Query()] = "pending",
    done: Annotated[str, Query()] = "",
) -> Response:
    _operator(session)
    values = {
        "approvals": await console(request).approvals.listed(status),
        "status": status,
        "notice": DECIDED.get(done, ""),
    }
    return web.page(request, "approvals.html", values, session=session)


@router.post("/approvals/{approval_id}/{decision}")
async def decide(
    request: Request, session: web.Session, form: web.Form, approval_id: str, decision: str
) -> Response:
    _operator(session)
    service = console(request).approvals
    by = f"{session.client.name} ({session.client.id}, console)"
    reason = form.get("reason") or None
    if decision == "approve":
        await service.approve(approval_id, by=by, reason=reason)
        return web.redirect("/approvals?done=approved")
    if decision == "reject":
        await service.reject(approval_id, by=by, reason=reason)
        return web.redirect("/approvals?done=rejected")
    raise errors.NotFound(f"There is no decision {decision!r}; approve or reject.")
