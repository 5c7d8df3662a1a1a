"""Delivery inspection and re-queueing: an integrator sees its own, `hookyard:admin` sees all."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hookyard import clock, models
from hookyard.api.auth import principal
from hookyard.api.context import context
from hookyard.services import identity
from hookyard.services.deliveries import DeliveryService
from hookyard.store.history import DeliveryRecord

router = APIRouter(tags=["Deliveries"])
Caller = Annotated[models.Principal, Depends(principal)]


class RecoverRequest(BaseModel):
    """Which held deliveries to send again."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="The callback url, Active again after a POST of it.")
    since: datetime = Field(description="Deliveries made at or after this time (with a zone).")


def _service(request: Request) -> DeliveryService:
    wired = context(request)
    return DeliveryService(wired.store, on_recovered=wired.events.recovered)


def _viewer(caller: models.Principal) -> str | None:
    return None if caller.has_scope(identity.ADMIN) else caller.client_id


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
    caller: Caller,
    state: Annotated[str | None, Query(description="pending, in_flight, succeeded, ...")] = None,
    url: Annotated[str | None, Query(description="Only this callback url")] = None,
    event_id: Annotated[str | None, Query(alias="eventId")] = None,
    before: Annotated[str | None, Query(description="`next` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    records = await _service(request).list(
        _viewer(caller),
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
async def get_delivery(request: Request, caller: Caller, delivery_id: str) -> dict[str, Any]:
    record = await _service(request).get(_viewer(caller), delivery_id)
    return _view(record, with_attempts=True)


@router.post(
    "/hookyard/api/v1/deliveries/{delivery_id}/redeliver",
    status_code=202,
    operation_id="Deliveries_Redeliver",
    summary="Queue a delivery again for a new round of tries",
)
async def redeliver(request: Request, caller: Caller, delivery_id: str) -> dict[str, Any]:
    record = await _service(request).redeliver(_viewer(caller), delivery_id)
    return _view(record, with_attempts=True)


@router.post(
    "/hookyard/api/v1/subscriptions/recover",
    status_code=202,
    operation_id="Subscriptions_Recover",
    summary="Queue again the held and failed deliveries of a reactivated url since a time",
)
async def recover(request: Request, caller: Caller, body: RecoverRequest) -> dict[str, int]:
    count = await _service(request).recover(_viewer(caller), body.url, body.since)
    return {"recovered": count}
