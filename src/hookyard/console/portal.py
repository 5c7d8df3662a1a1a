"""The integrator portal (and the operator's view of every tenant through the same pages):
subscriptions with their Stop reason, the delivery stream, one delivery's attempts, and the
actions on them. Each handler reads a request, calls one service, and renders or redirects.

Alert urls are subscription records too (of the built-in product `hookyard`, not in the
catalog): the subscriptions page lists them apart, without product actions, and links to the
Alerts page that manages them."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from hookyard import errors, models
from hookyard.console import web
from hookyard.console.context import console
from hookyard.services import alerts
from hookyard.services.deliveries import DeliveryRecord, parse_time
from hookyard.services.sessions import ConsoleSession

router = APIRouter(route_class=web.ConsoleRoute, include_in_schema=False)
PAGE = 50
NOTICES = {
    "redelivered": "Queued again: a new round of tries starts now.",
    "reactivated": "The url answered its challenge and is Active again.",
    "recovered": "Held and failed deliveries were queued again.",
    "sent": "Test event sent; its delivery is below.",
}
Text = Annotated[str, Query()]


@dataclass
class UrlGroup:
    """The records of one callback url in one product, company and partition."""

    first: models.Subscription
    records: list[models.Subscription] = field(default_factory=list)

    @property
    def stopped(self) -> bool:
        return any(r.status is models.SubscriptionStatus.STOPPED for r in self.records)

    @property
    def stop_reason(self) -> str:
        return next((r.stop_reason for r in self.records if r.stop_reason), "")

    @property
    def is_alert_url(self) -> bool:
        """Records of the built-in product `hookyard`: managed on the Alerts page."""
        return self.first.product == alerts.PRODUCT.key

    @property
    def owner(self) -> str:
        """Whose alert url, for the operator's view: the operator's or a client's."""
        return (
            "operator" if self.first.client_id == alerts.OPERATOR_CLIENT else self.first.client_id
        )


def _groups(records: list[models.Subscription]) -> list[UrlGroup]:
    def key(r: models.Subscription) -> tuple[str, ...]:
        return (r.client_id, r.product, r.company_id, r.partition_value or "", r.callback_url)

    groups = []
    for _key, items in groupby(sorted(records, key=key), key=key):
        listed = list(items)
        groups.append(UrlGroup(listed[0], listed))
    return groups


@router.get("/")
async def home(_session: web.Session) -> Response:
    return web.redirect("/subscriptions")


@router.get("/subscriptions")
async def subscriptions(
    request: Request, session: web.Session, status: Text = "", done: Text = ""
) -> Response:
    records = await console(request).records.listed(session.actor, status or None)
    groups = _groups(records)
    values = {
        "groups": [group for group in groups if not group.is_alert_url],
        "alert_urls": [group for group in groups if group.is_alert_url],
        "products": console(request).catalog.products,
        "status": status,
        "notice": NOTICES.get(done, ""),
    }
    return web.page(request, "subscriptions.html", values, session=session)


@router.post("/subscriptions/{record_id}/reactivate")
async def reactivate(
    request: Request, session: web.Session, _form: web.Form, record_id: str
) -> Response:
    await console(request).records.reactivate(session.actor, record_id)
    return web.redirect("/subscriptions?done=reactivated")


@router.post("/subscriptions/{record_id}/rotate")
async def rotate(
    request: Request, session: web.Session, _form: web.Form, record_id: str
) -> Response:
    record = await console(request).records.record(session.actor, record_id)
    key = await console(request).records.rotate_secret(session.actor, record_id)
    hours = console(request).settings.secret_overlap_hours
    values = {"record": record, "secret_key": key, "hours": hours}
    return web.page(request, "rotated.html", values, session=session)


@router.post("/subscriptions/{record_id}/test")
async def send_test_event(
    request: Request, session: web.Session, form: web.Form, record_id: str
) -> Response:
    sent = await console(request).test_events.send(
        session.actor,
        record_id=record_id,
        event_type=form.get("event_type", ""),
    )
    return web.redirect(f"/deliveries?event={sent.event_id}&done=sent")


@dataclass(frozen=True)
class Filters:
    """The delivery stream's filters as typed into its form."""

    state: str = ""
    event_type: str = ""
    url: str = ""
    since: str = ""
    until: str = ""
    event: str = ""


async def _stream(
    request: Request, session: ConsoleSession, filters: Filters, before: str
) -> list[DeliveryRecord]:
    return await console(request).deliveries.list(
        session.actor,
        state=filters.state or None,
        event_type=filters.event_type or None,
        callback_url=filters.url or None,
        event_id=filters.event or None,
        since=parse_time("since", filters.since) if filters.since else None,
        until=parse_time("until", filters.until) if filters.until else None,
        before=before or None,
        limit=PAGE,
    )


@router.get("/deliveries")
async def deliveries(
    request: Request,
    session: web.Session,
    state: Text = "",
    event_type: Text = "",
    url: Text = "",
    since: Text = "",
    until: Text = "",
    event: Text = "",
    before: Text = "",
    done: Text = "",
) -> Response:
    filters = Filters(state, event_type, url, since, until, event)
    problem, found, status = "", [], 200
    try:
        found = await _stream(request, session, filters, before)
    except errors.InvalidInput as exc:
        problem, status = exc.detail, 400
    products = console(request).catalog.products.values()
    values = {
        "filters": filters,
        "rows": found,
        "problem": problem,
        "next": found[-1].delivery.id if len(found) == PAGE else "",
        "states": [s.value for s in models.DeliveryState],
        "event_types": sorted(
            {name for p in products for name in p.event_types}.union(alerts.EVENT_TYPES)
        ),
        "notice": NOTICES.get(done, ""),
    }
    return web.page(request, "deliveries.html", values, session=session, status=status)


@router.get("/deliveries/{delivery_id}")
async def delivery(
    request: Request, session: web.Session, delivery_id: str, done: Text = ""
) -> Response:
    record = await console(request).deliveries.get(session.actor, delivery_id)
    values = {"record": record, "notice": NOTICES.get(done, "")}
    return web.page(request, "delivery.html", values, session=session)


@router.post("/deliveries/{delivery_id}/redeliver")
async def redeliver(
    request: Request, session: web.Session, _form: web.Form, delivery_id: str
) -> Response:
    await console(request).deliveries.redeliver(session.actor, delivery_id)
    return web.redirect(f"/deliveries/{delivery_id}?done=redelivered")


@router.post("/recover")
async def recover(request: Request, session: web.Session, form: web.Form) -> Response:
    since = parse_time("since", form.get("since", ""))
    count = await console(request).deliveries.recover(session.actor, form.get("url", ""), since)
    values = {"count": count, "url": form.get("url", "")}
    return web.page(request, "recovered.html", values, session=session)
