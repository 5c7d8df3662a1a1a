"""`/hookyard/api/v1/subscriptions`: subscription records across products with the reason a
record was Stopped, which the twelve HCSS operations have no field for. An integrator sees its
own records; a client with the operator role (`hookyard:operator`) sees every tenant's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from hookyard import clock, models
from hookyard.api.auth import Acting
from hookyard.api.context import context

router = APIRouter(prefix="/hookyard/api/v1/subscriptions", tags=["Subscriptions"])


class SubscriptionView(BaseModel):
    id: str
    product: str
    companyId: str
    clientId: str
    partitionValue: str | None
    filterValue: str | None
    eventType: str
    callbackUrl: str
    status: str
    dateCreated: str
    statusChangedAt: str
    stopReason: str | None


class SubscriptionPage(BaseModel):
    results: list[SubscriptionView]
    next: str | None


def view(record: models.Subscription) -> dict[str, Any]:
    """A record as Hookyard's API shows it: never its secret key."""
    return {
        "id": record.id,
        "product": record.product,
        "companyId": record.company_id,
        "clientId": record.client_id,
        "partitionValue": record.partition_value,
        "filterValue": record.filter_value,
        "eventType": record.event_type,
        "callbackUrl": record.callback_url,
        "status": record.status.value,
        "dateCreated": clock.isoformat(record.date_created),
        "statusChangedAt": clock.isoformat(record.status_changed_at),
        "stopReason": record.stop_reason,
    }


@router.get(
    "",
    operation_id="Subscriptions_List",
    summary="List subscription records with their Stop reason",
)
async def list_subscriptions(
    request: Request,
    caller: Acting,
    status: Annotated[str | None, Query(description="Active, Stopped or Deleted")] = None,
    product: Annotated[str | None, Query(description="A product key, e.g. precon")] = None,
    client_id: Annotated[str | None, Query(alias="clientId")] = None,
    company_id: Annotated[str | None, Query(alias="companyId")] = None,
    after: Annotated[str | None, Query(description="`next` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SubscriptionPage:
    records = await context(request).subscription_search.search(
        caller,
        client_id=client_id,
        company_id=company_id,
        product=product,
        status=status,
        after=after,
        limit=limit,
    )
    following = records[-1].id if len(records) == limit else None
    return SubscriptionPage(results=[SubscriptionView(**view(r)) for r in records], next=following)


@router.get(
    "/{subscription_id}",
    operation_id="Subscriptions_Get",
    summary="One subscription record with its Stop reason",
)
async def get_subscription(
    request: Request, caller: Acting, subscription_id: str
) -> SubscriptionView:
    record = await context(request).subscription_search.show(caller, subscription_id)
    return SubscriptionView(**view(record))
