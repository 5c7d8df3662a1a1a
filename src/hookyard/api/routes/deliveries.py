"""Delivery inspection and re-queueing: what a caller reaches is the services' decision (an
integrator its own, a partner its own in the companies connected now, the operator all)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hookyard import clock, models
from hookyard.api.auth import Acting
from hookyard.api.context import context
from hookyard.services.catchup import MAX_LIMIT as MAX_EVENTS_PAGE
from hookyard.services.deliveries import DeliveryRecord

router = APIRouter(tags=["Deliveries"])


class RecoverRequest(BaseModel):
    """Which held deliveries to send again."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="The callback url, Active again after a POST of it.")
    since: datetime = Field(description="Deliveries made at or after this time (with a zone).")


def _attempt(attempt: models.Attempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "startedAt": clock.isoformat(attempt.started_at),
        "outcome": attempt.outcome.value,
        "status": attempt.status_code,
        "latencyMs": round(attempt.duration_ms, 3),
        "error": attempt.error,
        "responseBody": attempt.response_body,
    }


def _view(record: DeliveryRecord, *, with_attempts: bool = False) -> dict[str, Any]:
    delivery = record.delivery
    view: dict[str, Any] = {
        "id": delivery.id,
        "eventId": delivery.event_id,
        "subscriptionId": delivery.subscription_id,
        "product": record.product,
        "eventType": record.event_type,
        "companyId": record.company_id,
        "clientId": record.client_id,
        "callbackUrl": record.callback_url,
        "state": delivery.state.value,
        "tries": delivery.attempts,
        "nextAttemptAt": clock.isoformat(delivery.next_attempt_at),
        "createdAt": clock.isoformat(delivery.created_at),
        "updatedAt": clock.isoformat(delivery.updated_at),
        "lastStatus": delivery.last_status,
        "lastError": delivery.last_error,
    }
    if with_attempts:
        view["attempts"] = [_attempt(a) for a in record.attempts]
    return view


@router.get(
    "/hookyard/api/v1/deliveries",
    operation_id="Deliveries_List",
    summary="List deliveries, newest first",
)
async def list_deliveries(
    request: Request,
    caller: Acting,
    state: Annotated[str | None, Query(description="pending, in_flight, succeeded, ...")] = None,
    url: Annotated[str | None, Query(description="Only this callback url")] = None,
    event_id: Annotated[str | None, Query(alias="eventId")] = None,
    before: Annotated[str | None, Query(description="`next` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    records = await context(request).deliveries.list(
        caller,
        state=state,
        callback_url=url,
        event_id=event_id,
        before=before,
        limit=limit,
    )
    following = records[-1].delivery.id if len(records) == limit else None
    return {"results": [_view(r) for r in records], "next": following}


@router.get(
    "/hookyard/api/v1/deliveries/{delivery_id}",
    operation_id="Deliveries_Get",
    summary="One delivery with every attempt",
)
async def get_delivery(request: Request, caller: Acting, delivery_id: str) -> dict[str, Any]:
    record = await context(request).deliveries.get(caller, delivery_id)
    return _view(record, with_attempts=True)


@router.post(
    "/hookyard/api/v1/deliveries/{delivery_id}/redeliver",
    status_code=202,
    operation_id="Deliveries_Redeliver",
    summary="Queue a delivery again for a new round of tries",
)
async def redeliver(request: Request, caller: Acting, delivery_id: str) -> dict[str, Any]:
    record = await context(request).deliveries.redeliver(caller, delivery_id)
    return _view(record, with_attempts=True)


@router.post(
    "/hookyard/api/v1/subscriptions/recover",
    status_code=202,
    operation_id="Subscriptions_Recover",
    summary="Queue again the held and failed deliveries of a reactivated url since a time",
)
async def recover(request: Request, caller: Acting, body: RecoverRequest) -> dict[str, int]:
    count = await context(request).deliveries.recover(caller, body.url, body.since)
    return {"recovered": count}


@router.get(
    "/hookyard/api/v1/subscriptions/events",
    operation_id="Subscriptions_Events",
    summary="Catch up: a callback url's deliveries after a sequence number, as they are sent",
)
async def subscription_events(
    request: Request,
    caller: Acting,
    url: Annotated[str, Query(description="One of your callback urls")],
    after: Annotated[
        int, Query(ge=0, description="The last `webhook-sequence` you have; 0 for all")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 100,
) -> dict[str, Any]:
    """Each result is one delivery: `sequence`, `deliveryId`, `eventId`, `eventType`, `headers`
    (webhook-id, webhook-timestamp and webhook-signature signed at this request's time,
    webhook-sequence, content-type) and `body`, the exact JSON text. `nextAfter` is the `after`
    of the next page while `hasNextPage`."""
    page = await context(request).catchup.events(caller, url, after, limit)
    return {
        "results": [
            {
                "sequence": item.sequence,
                "deliveryId": item.delivery_id,
                "eventId": item.event_id,
                "eventType": item.event_type,
                "headers": item.headers,
                "body": item.body.decode(),
            }
            for item in page.results
        ],
        "hasNextPage": page.has_next_page,
        "nextAfter": page.next_after,
    }
