"""Business units as each product's API lists them (spec section 2), limited to the token's
company and the units it may see."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from hookyard import clock, errors, models
from hookyard.api.auth import require_scope
from hookyard.api.context import context

router = APIRouter()
PAGE_SIZE = 100


class PreConBusinessUnit(BaseModel):
    id: str
    code: str
    description: str
    dateCreated: str


class PreConBusinessUnitPage(BaseModel):
    results: list[PreConBusinessUnit]
    nextPageToken: str | None
    hasNextPage: bool


class HeavyJobBusinessUnit(BaseModel):
    id: str
    credentialsId: str
    code: str
    description: str


class SetupsBusinessUnit(BaseModel):
    id: str
    code: str
    description: str


def _cursor(token: str | None) -> tuple[datetime, str] | None:
    if not token:
        return None
    try:
        created, _, unit_id = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        return datetime.fromisoformat(created), unit_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise errors.InvalidInput.field(
            "pageToken", "is not a page token from a previous answer; omit it to start over"
        ) from exc


def _next_token(unit: models.BusinessUnit) -> str:
    return base64.urlsafe_b64encode(f"{unit.date_created.isoformat()}|{unit.id}".encode()).decode()


async def _units(
    request: Request,
    caller: models.Principal,
    *,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[models.BusinessUnit]:
    return await context(request).business_units.listed(caller, after=after, limit=limit)


@router.get(
    "/precon/api/v1/businessUnits",
    tags=["HeavyBid Pre-Construction"],
    operation_id="PreCon_GetBusinessUnits",
    summary="List business units",
    response_model=PreConBusinessUnitPage,
)
async def precon_business_units(
    request: Request,
    caller: Annotated[models.Principal, Depends(require_scope("precon:read"))],
    page_token: Annotated[str | None, Query(alias="pageToken", max_length=512)] = None,
) -> dict[str, Any]:
    """A page of the business units this token may see, oldest first."""
    units = await _units(request, caller, after=_cursor(page_token), limit=PAGE_SIZE + 1)
    page, more = units[:PAGE_SIZE], len(units) > PAGE_SIZE
    return {
        "results": [
            {
                "id": unit.id,
                "code": unit.code,
                "description": unit.description,
                "dateCreated": clock.isoformat(unit.date_created),
            }
            for unit in page
        ],
        "nextPageToken": _next_token(page[-1]) if more else None,
        "hasNextPage": more,
    }


@router.get(
    "/heavyjob/api/v1/businessUnits",
    tags=["HeavyJob"],
    operation_id="HeavyJob_GetBusinessUnits",
    summary="List business units",
    response_model=list[HeavyJobBusinessUnit],
)
async def heavyjob_business_units(
    request: Request,
    caller: Annotated[models.Principal, Depends(require_scope("heavyjob:read"))],
) -> list[dict[str, Any]]:
    units = await _units(request, caller)
    return [
        {
            "id": unit.id,
            "credentialsId": unit.credentials_id,
            "code": unit.code,
            "description": unit.description,
        }
        for unit in units
    ]


@router.get(
    "/setups/api/v1/BusinessUnit",
    tags=["Setups"],
    operation_id="Setups_GetBusinessUnits",
    summary="List business units",
    response_model=list[SetupsBusinessUnit],
)
async def setups_business_units(
    request: Request,
    caller: Annotated[models.Principal, Depends(require_scope("dis:read"))],
) -> list[dict[str, Any]]:
    units = await _units(request, caller)
    return [{"id": unit.id, "code": unit.code, "description": unit.description} for unit in units]
