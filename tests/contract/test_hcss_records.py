"""Every record `GET /webhooks/api/v1/...` lists, of every product, has exactly the members of
HCSS's published schema for it, with their types: a client generated from HCSS's schema reads
it. HeavyJob's `jobId` is a non-nullable GUID, so a record for every job leaves it out."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from hookyard import ids
from hookyard.api.openapi import document
from hookyard.cli.runtime import Runtime
from tests.support.receiver import Receiver
from tests.support.webhooks import TYPES, caller

SCHEMAS: dict[str, Any] = json.loads(
    (Path(__file__).with_name("hcss_webhook_schemas.json")).read_text()
)["schemas"]
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def _is_guid(value: object) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str) or not ISO_Z.match(value):
        return False
    return datetime.fromisoformat(value.replace("Z", "+00:00")) is not None


KINDS: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "guid": _is_guid,
    "date-time": _is_datetime,
    "status": lambda v: v in ("Active", "Stopped", "Deleted"),
}


def problems(product: str, record: dict[str, Any]) -> list[str]:
    """What in `record` breaks the product's HCSS schema; empty when it conforms."""
    schema = SCHEMAS[product]
    members = {**schema["required"], **schema["optional"]}
    found = [f"{name} is missing" for name in schema["required"] if name not in record]
    found += [f"{name} is not in {schema['name']}" for name in record if name not in members]
    found += [
        f"{name}={record[name]!r} is not a {members[name]}"
        for name in record
        if name in members and not KINDS[members[name]](record[name])
    ]
    return found


def test_the_checker_refuses_what_hcss_clients_cannot_read() -> None:
    good = {
        "companyId": ids.guid(),
        "eventType": "CostCodeCreated",
        "callbackUrl": "https://example.com/hook",
        "dateCreated": "2026-11-29T10:00:00.123Z",
        "clientId": "hyc_x",
        "status": "Active",
        "secretKey": "k",
        "id": ids.guid(),
    }
    assert problems("heavyjob", good) == []
    assert problems("heavyjob", {**good, "jobId": ids.guid()}) == []
    assert problems("heavyjob", {**good, "jobId": None}) == ["jobId=None is not a guid"]
    assert problems("heavyjob", {**good, "extra": 1}) == ["extra is not in HeavyJobWebhook"]
    assert problems("precon", good) == ["businessUnitId is missing"]
    assert problems("setups", {**good, "status": "Paused"}) == ["status='Paused' is not a status"]


@pytest.mark.parametrize(
    ("product", "extra"),
    [
        ("precon", {}),
        ("setups", {}),
        ("heavyjob", {}),
        ("heavyjob", {"jobIds": None}),
        ("heavyjob", {"jobIds": ["3f0f4a5e-1d2c-4b6a-9e8f-7a6b5c4d3e2f"]}),
    ],
)
async def test_every_listed_record_matches_the_hcss_schema(
    api: httpx.AsyncClient,
    runtime: Runtime,
    receiver: Receiver,
    product: str,
    extra: dict[str, Any],
) -> None:
    me = await caller(api, runtime)
    body = {"url": receiver.url("/hook"), "eventTypes": TYPES[product], **extra}
    created = await api.post(me.path(product), json=body, headers=me.headers)
    assert created.status_code == 200, created.text

    listed = await api.get(me.path(product), headers=me.headers)
    assert listed.status_code == 200
    records = listed.json()
    assert len(records) == len(TYPES[product])
    for record in records:
        assert problems(product, record) == [], record
    if product == "heavyjob":
        assert all(("jobId" in r) == bool(extra.get("jobIds")) for r in records)


def test_the_openapi_document_declares_jobid_as_hcss_does(runtime: Runtime) -> None:
    schema = document(runtime.app())["components"]["schemas"]["HeavyJobSubscription"]
    assert "jobId" not in schema["required"]
    assert schema["properties"]["jobId"]["type"] == "string"
    assert "default" not in schema["properties"]["jobId"]
