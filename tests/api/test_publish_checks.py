"""Publishing refuses what could match no subscription, naming the field in the wire's terms:
ids that are not GUIDs (or the zero GUID), a company or business unit that does not exist, or a
business unit of another company. Nothing is stored when it refuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event

from hookyard import ids
from hookyard.cli.runtime import Runtime
from tests.support.tenants import ALL_SCOPES, Tenant, bearer, make_tenant, token

EVENTS = "/events/api/v1"
ZERO = "00000000-0000-0000-0000-000000000000"


async def _admin(api: httpx.AsyncClient, runtime: Runtime) -> tuple[Tenant, dict[str, str]]:
    tenant = await make_tenant(runtime, scopes=(*ALL_SCOPES, "hookyard:admin"))
    scope = "events:publish hookyard:admin"
    return tenant, bearer(await token(api, tenant.client_id, tenant.secret, scope))


def _precon(tenant: Tenant, **changes: str) -> dict[str, str]:
    return {
        "eventType": "ProjectCreated",
        "companyId": tenant.company.id,
        "businessUnitId": tenant.units[0].id,
        "projectId": "p-1",
        **changes,
    }


async def _refused(answer: httpx.Response, field: str, says: str, runtime: Runtime) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert list(problem["errors"]) == [field], problem
    assert says in problem["errors"][field][0], problem
    assert field in problem["detail"]
    assert await runtime.store.events.count() == 0


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"companyId": "acme"}, "companyId", "must be a GUID"),
        ({"companyId": ZERO}, "companyId", "must not be the zero GUID"),
        ({"businessUnitId": "east"}, "businessUnitId", "must be a GUID"),
        ({"businessUnitId": ZERO}, "businessUnitId", "must not be the zero GUID"),
    ],
)
async def test_ids_must_be_guids(
    api: httpx.AsyncClient, runtime: Runtime, changes: dict[str, str], field: str, says: str
) -> None:
    tenant, headers = await _admin(api, runtime)
    answer = await api.post(f"{EVENTS}/precon", json=_precon(tenant, **changes), headers=headers)
    await _refused(answer, field, says, runtime)


async def test_heavyjob_job_id_must_be_a_guid(api: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant, headers = await _admin(api, runtime)
    event = {
        "eventType": "CostCodeCreated",
        "companyId": tenant.company.id,
        "jobId": "job-5",
        "costCodeId": "cc-1",
    }
    answer = await api.post(f"{EVENTS}/heavyjob", json=event, headers=headers)
    await _refused(answer, "jobId", "must be a GUID", runtime)


async def test_the_company_must_exist(api: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant, headers = await _admin(api, runtime)
    event = {
        "eventType": "EmployeeCreated",
        "companyId": ids.guid(),
        "businessUnitId": tenant.units[0].id,
        "id": "e-1",
    }
    answer = await api.post(f"{EVENTS}/setups", json=event, headers=headers)
    await _refused(answer, "companyId", "there is no company", runtime)


async def test_the_business_unit_must_exist_in_that_company(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant, headers = await _admin(api, runtime)
    other = await make_tenant(runtime, "Other Paving")
    unknown = await api.post(
        f"{EVENTS}/precon", json=_precon(tenant, businessUnitId=ids.guid()), headers=headers
    )
    await _refused(unknown, "businessUnitId", "there is no business unit", runtime)
    foreign = _precon(tenant, businessUnitId=other.units[0].id)
    answer = await api.post(f"{EVENTS}/precon", json=foreign, headers=headers)
    await _refused(answer, "businessUnitId", "belongs to another company", runtime)


async def test_a_batch_names_the_event_that_is_wrong(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant, headers = await _admin(api, runtime)
    batch = [_precon(tenant), _precon(tenant, businessUnitId=ids.guid())]
    answer = await api.post(f"{EVENTS}/precon/batch", json=batch, headers=headers)
    await _refused(answer, "[1].businessUnitId", "there is no business unit", runtime)


async def test_upper_case_guids_are_accepted_and_stored_in_lower_case(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant, headers = await _admin(api, runtime)
    event = _precon(tenant, businessUnitId=tenant.units[0].id.upper())
    answer = await api.post(f"{EVENTS}/precon", json=event, headers=headers)
    assert answer.status_code == 202, answer.text
    assert await runtime.store.events.count() == 1


@pytest.mark.parametrize(
    ("content", "headers", "field", "says"),
    [
        (
            b'{"eventType": "ProjectCreated",',
            {"Content-Type": "application/json"},
            "body",
            "is not valid JSON",
        ),
        (b'{"eventType": "ProjectCreated"}', {}, "Content-Type", "must be application/json"),
        (
            b'{"eventType": "ProjectCreated"}',
            {"Content-Type": "text/plain"},
            "Content-Type",
            "the request said text/plain",
        ),
    ],
)
async def test_a_body_that_is_not_json_is_named_clearly(
    api: httpx.AsyncClient,
    runtime: Runtime,
    content: bytes,
    headers: dict[str, str],
    field: str,
    says: str,
) -> None:
    _, auth = await _admin(api, runtime)
    answer = await api.post(f"{EVENTS}/precon", content=content, headers={**auth, **headers})
    await _refused(answer, field, says, runtime)


async def test_subscription_errors_name_wire_fields(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    headers = bearer(await token(api, tenant.client_id, tenant.secret, "precon:read"))
    path = f"/webhooks/api/v1/precon/{tenant.units[0].id}"
    body: dict[str, Any] = {"url": "http://127.0.0.1:9/hook", "eventTypes": "ProjectCreated"}
    answer = await api.post(path, json=body, headers=headers)
    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == ["eventTypes"]
    form = await api.post(path, data={"url": "x"}, headers=headers)
    assert form.status_code == 400
    assert list(form.json()["errors"]) == ["Content-Type"]


async def test_a_known_business_unit_is_looked_up_once_per_process(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    """The check that the business unit exists reads the database once, not on every publish:
    the statements the real engine runs are counted while the same tenant publishes again."""
    tenant, headers = await _admin(api, runtime)
    first = await api.post(f"{EVENTS}/precon", json=_precon(tenant), headers=headers)
    assert first.status_code == 202, first.text
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    engine = runtime.store.db.reader.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for n in range(3):
            again = _precon(tenant, projectId=f"p-{n + 2}")
            answer = await api.post(f"{EVENTS}/precon", json=again, headers=headers)
            assert answer.status_code == 202, answer.text
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [s for s in statements if "business_units" in s] == []
    assert await runtime.store.events.count() == 4
