"""`/healthz` (the process answers) and `/readyz` (database, schema, delivery worker)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hookyard.api.context import context

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """Alive: answers without touching the database."""
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    """200 when every check is ok, else 503; each check says what is wrong and what to do."""
    readiness = await context(request).health.readiness()
    body: dict[str, Any] = {
        "status": "ready" if readiness.ready else "not ready",
        "checks": readiness.checks,
    }
    return JSONResponse(body, status_code=200 if readiness.ready else 503)
