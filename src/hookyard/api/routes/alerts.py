"""`/hookyard/api/v1/alerts`: a client's own alert urls, which receive the operational events
about its subscription records (Stopped, reactivated, deliveries exhausted or recovered) as
signed webhooks. The operator's alert urls are set with `hookyard alerts` or the console."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hookyard import clock
from hookyard.api.auth import Acting
from hookyard.api.context import context
from hookyard.services.alerts import EVENT_TYPES, AlertTarget

router = APIRouter(prefix="/hookyard/api/v1/alerts", tags=["Alerts"])


class AlertRequest(BaseModel):
    """An alert url to add, or whose event types to replace."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="The alert url; it must answer the challenge like a callback")
    eventTypes: list[str] | None = Field(
        None, description=f"Some of: {', '.join(EVENT_TYPES)}; absent or null: all"
    )
    secretKey: str | None = Field(
        None, description="Standard base64 of 16 to 64 bytes; omitted: keep or generate one"
    )


class AlertTargetView(BaseModel):
    """An alert url as listed: never with its key (the answer to its POST had it)."""

    url: str
    eventTypes: list[str]
    status: str
    stopReason: str | None
    dateCreated: str


class AddedAlertTargetView(AlertTargetView):
    """An alert url just added or changed, with the key that signs its events."""

    secretKey: str = Field(
        description="The key that signs the events sent to this url; shown in this answer "
        "only, never listed"
    )


def view(target: AlertTarget) -> dict[str, Any]:
    """An alert url as the API lists it."""
    return {
        "url": target.url,
        "eventTypes": list(target.event_types),
        "status": target.status,
        "stopReason": target.stop_reason,
        "dateCreated": clock.isoformat(target.date_created),
    }


@router.get("", operation_id="Alerts_List", summary="The caller's alert urls (without keys)")
async def list_alerts(request: Request, caller: Acting) -> list[AlertTargetView]:
    alerts = context(request).alerts
    targets = await alerts.targets(caller)
    return [AlertTargetView(**view(target)) for target in targets]


@router.post(
    "",
    operation_id="Alerts_Add",
    summary="Add an alert url (after its challenge), or replace its event types; the answer "
    "holds its signing key",
)
async def add_alert(request: Request, caller: Acting, body: AlertRequest) -> AddedAlertTargetView:
    target = await context(request).alerts.add(
        caller, body.url, body.eventTypes, secret_key=body.secretKey
    )
    return AddedAlertTargetView(**view(target), secretKey=target.secret_key)


@router.delete(
    "",
    operation_id="Alerts_Delete",
    summary="Stop sending operational events to an alert url",
    response_class=Response,
    responses={200: {"description": "Deleted; the body is empty"}},
)
async def delete_alert(
    request: Request, caller: Acting, url: Annotated[str, Query(description="The alert url")]
) -> Response:
    await context(request).alerts.remove(caller, url)
    return Response(status_code=200)
