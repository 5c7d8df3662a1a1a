"""The committed docs/reference/openapi.json is exactly what the app serves at /openapi.json."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "reference" / "openapi.json"


def _render(document: object) -> str:
    return json.dumps(document, sort_keys=True, indent=2) + "\n"


async def test_the_committed_document_is_the_served_one(api: httpx.AsyncClient) -> None:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    served = _render(response.json())
    assert COMMITTED.read_text() == served, (
        "docs/reference/openapi.json differs from what the app serves; "
        "run `make openapi` and commit the result"
    )


async def test_every_operation_has_an_operation_id_and_a_tag(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert operations
    for path, method, operation in operations:
        assert operation.get("operationId"), f"{method.upper()} {path} has no operationId"
        assert operation.get("tags"), f"{method.upper()} {path} has no tag"


def test_the_business_unit_operations_carry_hcss_ids_and_tags() -> None:
    document = json.loads(COMMITTED.read_text())
    expected = {
        "/precon/api/v1/businessUnits": ("PreCon_GetBusinessUnits", "HeavyBid Pre-Construction"),
        "/heavyjob/api/v1/businessUnits": ("HeavyJob_GetBusinessUnits", "HeavyJob"),
        "/setups/api/v1/BusinessUnit": ("Setups_GetBusinessUnits", "Setups"),
    }
    for path, (operation_id, tag) in expected.items():
        operation = document["paths"][path]["get"]
        assert operation["operationId"] == operation_id
        assert operation["tags"] == [tag]
