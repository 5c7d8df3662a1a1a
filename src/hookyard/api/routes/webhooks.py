"""The Webhooks API (spec section 3), generated from the catalog: for each product, `GET`, `POST`,
`PUT` and `DELETE ?url=` on `/webhooks/api/v1/{route}` (plus `/{partition}`, such as Pre-Con's
business unit), with HCSS's operationIds (`PreCon_GetWebhooks`, ...) and tags.

Route signatures are built with `inspect.Signature`, because the body model, the path parameter
and the scope differ per product and are only known from the catalog.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from hookyard import clock, models
from hookyard.api.auth import require_scope
from hookyard.api.context import context
from hookyard.catalog import Catalog, Product
from hookyard.services.subscriptions import Owner, SubscriptionRequest

BASE = "/webhooks/api/v1"
Status = Literal["Active", "Stopped", "Deleted"]


class SubscriptionBody(BaseModel):
    """A POST or PUT body; unknown fields are refused (HCSS: additionalProperties false)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="The callback URL: absolute https:// (or http://), no user-info")
    eventTypes: list[str] = Field(description="The event types to receive, each once")
    secretKey: str | None = Field(
        None,
        description="Standard base64 of 16 to 64 bytes ('whsec_' prefix allowed); "
        "omitted: keep the url's key, or generate one",
    )
    autoReactivate: bool | None = Field(
        None,
        strict=True,
        description="Hookyard addition: when a probe of this url passes while its records are "
        "Stopped, reactivate them and release their held deliveries in order. Omitted: keep "
        "the url's current choice (false for a new url).",
    )


class SecretKeyResponse(BaseModel):
    secretKey: str = Field(description="The key that signs every delivery to this url")


def _body_model(product: Product) -> type[SubscriptionBody]:
    fields: dict[str, Any] = {}
    if product.filter is not None:
        fields[product.filter.body_field] = (
            list[str] | None,
            Field(None, description="One record per id (GUIDs); absent or null: all"),
        )
    model: type[SubscriptionBody] = create_model(
        f"{product.operation_prefix}SubscriptionRequest", __base__=SubscriptionBody, **fields
    )
    return model


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _record_model(product: Product) -> type[BaseModel]:
    fields: dict[str, Any] = {"companyId": (str, ...)}
    if product.partition:
        fields[product.partition] = (str, ...)
    if product.filter is not None:
        # HCSS declares it a non-nullable GUID: a record for every job leaves it out.
        fields[product.filter.record_field] = (
            str,
            Field(
                None,
                description="Absent on a record for every job",
                json_schema_extra=_no_default,
            ),
        )
    fields.update(
        eventType=(str, ...),
        callbackUrl=(str, ...),
        dateCreated=(str, Field(description="ISO 8601 UTC, with Z")),
        clientId=(str, ...),
        status=(Status, ...),
        secretKey=(str, ...),
        id=(str, ...),
    )
    model: type[BaseModel] = create_model(f"{product.operation_prefix}Subscription", **fields)
    return model


def record(product: Product, subscription: models.Subscription) -> dict[str, Any]:
    """One record as GET lists it, fields in the spec's order."""
    out: dict[str, Any] = {"companyId": subscription.company_id}
    if product.partition:
        out[product.partition] = subscription.partition_value
    if product.filter is not None and subscription.filter_value is not None:
        out[product.filter.record_field] = subscription.filter_value
    out.update(
        eventType=subscription.event_type,
        callbackUrl=subscription.callback_url,
        dateCreated=clock.isoformat(subscription.date_created),
        clientId=subscription.client_id,
        status=subscription.status.value,
        secretKey=subscription.secret_key,
        id=subscription.id,
    )
    return out


def _signed(function: Callable[..., Any], **annotations: Any) -> Callable[..., Any]:
    """`function` with keyword parameters of these (real, not string) annotations."""
    parameters = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
        for name, annotation in annotations.items()
    ]
    function.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return function


def _owner(product: Product) -> Callable[..., Awaitable[Owner]]:
    """A dependency: the caller's place for `product` (scope, company, business unit)."""

    async def owner(request: Request, caller: models.Principal, **path: str) -> Owner:
        partition = path.get(product.partition) if product.partition else None
        return await context(request).subscriptions.owner(caller, product, partition)

    annotations: dict[str, Any] = {
        "request": Request,
        "caller": Annotated[models.Principal, Depends(require_scope(product.scope))],
    }
    if product.partition:
        annotations[product.partition] = Annotated[
            str, Path(description="The business unit (GUID) of the token's company")
        ]
    return _signed(owner, **annotations)


def _subscription(product: Product, body: SubscriptionBody) -> SubscriptionRequest:
    filter_values = getattr(body, product.filter.body_field) if product.filter else None
    return SubscriptionRequest(
        body.url, body.eventTypes, body.secretKey, filter_values, body.autoReactivate
    )


def _add_routes(router: APIRouter, product: Product) -> None:
    path = f"{BASE}/{product.route}"
    if product.partition:
        path += f"/{{{product.partition}}}"
    prefix = product.operation_prefix
    tags: list[str | Enum] = [product.tag]
    where = Annotated[Owner, Depends(_owner(product))]
    body_model = _body_model(product)

    async def get_webhooks(request: Request, owner: Owner) -> list[dict[str, Any]]:
        listed = await context(request).subscriptions.listed(owner)
        return [record(product, subscription) for subscription in listed]

    def save(replace: bool) -> Callable[..., Any]:
        async def endpoint(request: Request, owner: Owner, body: SubscriptionBody) -> Any:
            subscriptions = context(request).subscriptions
            request_ = _subscription(product, body)
            key = await subscriptions.subscribe(owner, product, request_, replace=replace)
            return {"secretKey": key}

        return _signed(endpoint, request=Request, owner=where, body=body_model)

    async def delete_subscription(request: Request, owner: Owner, url: str) -> Response:
        await context(request).subscriptions.unsubscribe(owner, url)
        return Response(status_code=200)

    router.add_api_route(
        path,
        _signed(get_webhooks, request=Request, owner=where),
        methods=["GET"],
        operation_id=f"{prefix}_GetWebhooks",
        tags=tags,
        summary="List the caller's Active and Stopped subscriptions",
        response_model=list[_record_model(product)],  # type: ignore[misc]
        response_model_exclude_unset=True,
    )
    for method, name, replace, summary in (
        ("POST", "CreateSubscription", False, "Subscribe a url to event types"),
        ("PUT", "UpdateSubscription", True, "Replace the event types of a url"),
    ):
        router.add_api_route(
            path,
            save(replace),
            methods=[method],
            operation_id=f"{prefix}_{name}",
            tags=tags,
            summary=summary,
            response_model=SecretKeyResponse,
        )
    url_query = Annotated[str, Query(description="The callback url whose records to delete")]
    router.add_api_route(
        path,
        _signed(delete_subscription, request=Request, owner=where, url=url_query),
        methods=["DELETE"],
        operation_id=f"{prefix}_DeleteSubscription",
        tags=tags,
        summary="Delete every subscription of a url",
        response_class=Response,
        responses={200: {"description": "Deleted; the body is empty"}},
    )


def router(catalog: Catalog) -> APIRouter:
    """The Webhooks API routes of every product in `catalog`."""
    routes = APIRouter()
    for product in catalog.products.values():
        _add_routes(routes, product)
    return routes
