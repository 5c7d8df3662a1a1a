"""The operator's pages: every tenant, the delivery queue per host, the approval requests. The
services refuse (403) a session without the operator role (`hookyard:operator`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from hookyard import errors
from hookyard.console import web
from hookyard.console.context import console

router = APIRouter(route_class=web.ConsoleRoute, include_in_schema=False)
DECIDED = {"approved": "Approved.", "rejected": "Rejected."}


@router.get("/tenants")
async def tenants(request: Request, session: web.Session) -> Response:
    values = {"tenants": await console(request).overview.tenants(session.actor)}
    return web.page(request, "tenants.html", values, session=session)


@router.get("/queue")
async def queue(request: Request, session: web.Session) -> Response:
    values = {"hosts": await console(request).overview.queue(session.actor)}
    return web.page(request, "queue.html", values, session=session)


@router.get("/approvals")
async def approvals(
    request: Request,
    session: web.Session,
    status: Annotated[str, Query()] = "pending",
    done: Annotated[str, Query()] = "",
) -> Response:
    values = {
        "approvals": await console(request).approvals.listed(session.actor, status),
        "status": status,
        "notice": DECIDED.get(done, ""),
    }
    return web.page(request, "approvals.html", values, session=session)


@router.post("/approvals/{approval_id}/{decision}")
async def decide(
    request: Request, session: web.Session, form: web.Form, approval_id: str, decision: str
) -> Response:
    service = console(request).approvals
    reason = form.get("reason") or None
    if decision == "approve":
        await service.approve(session.actor, approval_id, reason=reason)
        return web.redirect("/approvals?done=approved")
    if decision == "reject":
        await service.reject(session.actor, approval_id, reason=reason)
        return web.redirect("/approvals?done=rejected")
    raise errors.NotFound(f"There is no decision {decision!r}; approve or reject.")
