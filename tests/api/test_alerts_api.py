"""`/hookyard/api/v1/alerts` shows an alert url's signing key only in the answer to the POST
that adds (or changes) it, never in a GET, as the console and `hookyard alerts` do. On both
databases, over the real app."""

from __future__ import annotations

import json

import httpx

from hookyard.cli.runtime import Runtime
from tests.support.actors import integrator
from tests.support.receiver import Receiver
from tests.support.webhooks import caller

PATH = "/hookyard/api/v1/alerts"
LISTED = {"url", "eventTypes", "status", "stopReason", "dateCreated"}


async def test_the_key_is_in_the_answer_to_the_add_and_never_listed(
    api: httpx.AsyncClient, runtime: Runtime, receiver: Receiver
) -> None:
    me = await caller(api, runtime)
    url = receiver.url("/alerts")
    added = await api.post(PATH, json={"url": url}, headers=me.headers)
    assert added.status_code == 200, added.text
    key = added.json()["secretKey"]
    (target,) = await runtime.alerts.targets(integrator(me.client_id, me.tenant.company.id))
    assert key == target.secret_key

    listed = await api.get(PATH, headers=me.headers)
    assert listed.status_code == 200
    (shown,) = listed.json()
    assert set(shown) == LISTED
    assert shown["url"] == url
    assert shown["status"] == "Active"
    assert key not in listed.text

    document = (await api.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    listed_schema = document["paths"][PATH]["get"]["responses"]["200"]["content"]
    item = listed_schema["application/json"]["schema"]["items"]["$ref"].rsplit("/", 1)[1]
    assert "secretKey" not in schemas[item]["properties"]
    added_schema = document["paths"][PATH]["post"]["responses"]["200"]["content"]
    name = added_schema["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "secretKey" in schemas[name]["required"]
    assert key not in json.dumps(document)
