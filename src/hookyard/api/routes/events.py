"""Product events in (spec section 4): `POST /events/api/v1/{product}` and its batch form.

The 202 comes only after the event and every delivery it fans out to are committed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request, Response

from hookyard import models
from hookyard.api.auth import require_scope
from hookyard.api.context import context, open_publishing
from hookyard.services import access, identity
from hookyard.services.events import EventService, Published

router = APIRouter(tags=["Events"])
REPLAYED = "Idempotent-Replayed"
Publisher = Annotated[models.Principal, Depends(require_scope(identity.EVENTS_PUBLISH))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description=(
            "Retrying with the same key and the same request answers the first events again, "
            f"with the header `{REPLAYED}: true`; the same key with a different request is "
            "refused with 422."
        ),
    ),
]


def _service(request: Request) -> EventService:
    return open_publishing(context(request))


def _mark_replay(response: Response, published: list[Published]) -> None:
    if published and all(p.duplicate for p in published):
        response.headers[REPLAYED] = "true"


@router.post(
    "/events/api/v1/{product}",
    status_code=202,
    operation_id="Events_Publish",
    summary="Publish one product event",
)
async def publish(
    request: Request,
    response: Response,
    product: str,
    caller: Publisher,
    event: Annotated[dict[str, Any], Body(description='{"eventType", "companyId", ...fields}')],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, str]:
    published = await _service(request).publish(
        product,
        event,
        publisher_id=caller.client_id,
        idempotency_key=idempotency_key,
        for_company=access.publishes_for(caller),
    )
    _mark_replay(response, [published])
    return {"eventId": published.event_id}


@router.post(
    "/events/api/v1/{product}/batch",
    status_code=202,
    operation_id="Events_PublishBatch",
    summary="Publish up to 1000 product events at once (all or none)",
)
async def publish_batch(
    request: Request,
    response: Response,
    product: str,
    caller: Publisher,
    events: Annotated[list[Any], Body(description="A list of events")],
    idempotency_key: IdempotencyKey = None,
) -> dict[str, list[str]]:
    published = await _service(request).publish_many(
        product,
        events,
        publisher_id=caller.client_id,
        idempotency_key=idempotency_key,
        for_company=access.publishes_for(caller),
    )
    _mark_replay(response, published)
    return {"eventIds": [p.event_id for p in published]}
