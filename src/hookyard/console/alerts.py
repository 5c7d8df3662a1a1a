"""Alert urls in the console: the operator manages the operator's (every tenant's operational
events), an integrator its own (the events about its own records), through the same service as
`hookyard alerts` and `/hookyard/api/v1/alerts`. A refused add or remove shows the page again
with what is wrong; nothing was changed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from hookyard import errors
from hookyard.console import web
from hookyard.console.context import console
from hookyard.services.alerts import EVENT_TYPES
from hookyard.services.sessions import ConsoleSession

router = APIRouter(route_class=web.ConsoleRoute, include_in_schema=False)
NOTICES = {"removed": "Removed: that url gets no more operational events."}


async def _page(
    request: Request,
    session: ConsoleSession,
    *,
    status: int = 200,
    **values: Any,
) -> Response:
    try:
        targets = await console(request).alerts.targets(session.actor)
    except errors.Forbidden as exc:  # a partner's client acts for no company of its own
        targets, values["problem"] = [], values.get("problem") or exc.detail
        status = max(status, 403)
    shown = {
        "targets": targets,
        "event_types": EVENT_TYPES,
        "problem": "",
        "entered": {"url": "", "event_types": EVENT_TYPES},
        "added": None,
        **values,
    }
    return web.page(request, "alerts.html", shown, session=session, status=status)


@router.get("/alerts")
async def alerts(request: Request, session: web.Session, done: str = "") -> Response:
    return await _page(request, session, notice=NOTICES.get(done, ""))


@router.post("/alerts")
async def add(request: Request, session: web.Session, form: web.Form) -> Response:
    url = form.get("url", "").strip()
    chosen = (await request.form()).getlist("event_type")
    names = [name for name in chosen if isinstance(name, str)]
    try:
        target = await console(request).alerts.add(session.actor, url, names)
    except errors.HookyardError as exc:
        entered = {"url": url, "event_types": names}
        return await _page(
            request, session, status=web.status_of(exc), problem=_problem(exc), entered=entered
        )
    notice = f"Added: {target.url} answered its challenge and receives the events below."
    return await _page(request, session, notice=notice, added=target)


@router.post("/alerts/remove")
async def remove(request: Request, session: web.Session, form: web.Form) -> Response:
    url = form.get("url", "")
    try:
        await console(request).alerts.remove(session.actor, url)
    except errors.HookyardError as exc:
        return await _page(request, session, status=web.status_of(exc), problem=_problem(exc))
    return web.redirect("/alerts?done=removed")


def _problem(exc: errors.HookyardError) -> str:
    return f"{exc.detail.rstrip('. ')}. Nothing was changed."
