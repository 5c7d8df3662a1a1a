"""hookyard.receiver: verify, challenge, typed events and the framework-free Webhook core."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard import catalog, errors, receiver, signing
from hookyard.receiver import events

SECRET = signing.generate_secret()
NOW = 1_790_000_000
PRECON = {
    "eventSource": "HeavyBid Pre-Construction",
    "eventType": "ProjectChanged",
    "entityUrl": "https://hy.example/precon/api/v1/businessUnits/bu-1/Projects/p-1",
    "version": "1",
    "date": "2026-11-29T05:00:00.123456Z",
    "data": {"companyId": "c-1", "businessUnitId": "bu-1", "projectId": "p-1"},
}
SETUPS = {"companyId": "c-1", "eventType": "EmployeeCreated", "businessUnitId": "bu-1", "id": "e-1"}
HEAVYJOB = {"companyId": "c-1", "eventType": "CostCodeUpdated", "jobId": "j-1", "costCodeId": "cc"}


def delivery(payload: object, secret: str = SECRET, at: int = NOW) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    return signing.headers([secret], "msg_abc", at, body), body


# Errors first.


def test_a_tampered_delivery_raises_no_matching_signature() -> None:
    headers, body = delivery(SETUPS)
    with pytest.raises(receiver.NoMatchingSignature, match="raw body"):
        receiver.verify(SECRET, headers, body.replace(b"e-1", b"e-2"), now=NOW)


def test_each_failure_has_its_own_error() -> None:
    headers, body = delivery(SETUPS)
    without_id = {k: v for k, v in headers.items() if k != "webhook-id"}
    with pytest.raises(receiver.MissingHeader, match="webhook-id"):
        receiver.verify(SECRET, without_id, body, now=NOW)
    with pytest.raises(receiver.InvalidTimestamp):
        receiver.verify(SECRET, headers | {"webhook-timestamp": "soon"}, body, now=NOW)
    with pytest.raises(receiver.TimestampOutOfTolerance, match="old"):
        receiver.verify(SECRET, headers, body, now=NOW + 301)
    with pytest.raises(receiver.TimestampOutOfTolerance, match="future"):
        receiver.verify(SECRET, headers, body, now=NOW - 301)
    receiver.verify(SECRET, headers, body, tolerance=400, now=NOW + 350)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_a_signed_body_that_is_not_a_json_object_is_invalid_input(body: bytes) -> None:
    headers = signing.headers([SECRET], "msg_abc", NOW, body)
    with pytest.raises(receiver.InvalidInput, match="JSON"):
        receiver.verify(SECRET, headers, body, now=NOW)


def test_a_bad_secret_is_refused_when_the_webhook_is_built() -> None:
    with pytest.raises(receiver.InvalidSecret):
        receiver.Webhook("short")
    with pytest.raises(receiver.InvalidSecret):
        receiver.Webhook([])


# verify.


def test_verify_returns_the_typed_event_with_its_webhook_id() -> None:
    headers, body = delivery(HEAVYJOB)
    event = receiver.verify("whsec_" + SECRET, headers, body, now=NOW)
    assert isinstance(event, receiver.HeavyJobEvent)
    assert (event.job_id, event.cost_code_id, event.webhook_id) == ("j-1", "cc", "msg_abc")
    assert event.payload == HEAVYJOB


def test_verify_uses_the_real_clock_by_default() -> None:
    headers, body = delivery(SETUPS, at=int(time.time()))
    assert isinstance(receiver.verify(SECRET, headers, body), receiver.SetupsEvent)
    headers, body = delivery(SETUPS, at=int(time.time()) - 3600)
    with pytest.raises(receiver.TimestampOutOfTolerance):
        receiver.verify(SECRET, headers, body)


def test_verify_accepts_either_key_during_a_rotation() -> None:
    old, new = SECRET, signing.generate_secret()
    for used in (old, new):
        headers, body = delivery(SETUPS, secret=used)
        receiver.verify([old, new], headers, body, now=NOW)


# Challenge.


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"challenge": "abc_DEF-123"}, "abc_DEF-123"),
        ("challenge=abc_DEF-123&x=1", "abc_DEF-123"),
        ("x=1&challenge=a%2Bb", "a+b"),
        ({}, None),
        ("", None),
        ("challenge=", None),
        ({"other": "1"}, None),
    ],
)
def test_challenge_response(query: dict[str, str] | str, expected: str | None) -> None:
    assert receiver.challenge_response(query) == expected


# Typed events.


def test_precon_envelope_parses_to_a_precon_event() -> None:
    event = receiver.parse_event(PRECON, webhook_id="msg_1")
    assert isinstance(event, receiver.PreConEvent)
    assert (event.event_type, event.company_id, event.business_unit_id) == (
        "ProjectChanged",
        "c-1",
        "bu-1",
    )
    assert (event.project_id, event.schema_id, event.version) == ("p-1", None, "1")
    assert event.entity_url.endswith("/Projects/p-1")
    assert event.occurred_at.year == 2026
    assert event.occurred_at.utcoffset() is not None
    assert event.product == "precon"


def test_precon_schema_event_carries_the_schema_id() -> None:
    data = {"companyId": "c-1", "businessUnitId": "bu-1", "schemaId": "s-1"}
    event = receiver.parse_event(PRECON | {"eventType": "SchemaChanged", "data": data})
    assert isinstance(event, receiver.PreConEvent)
    assert (event.schema_id, event.project_id) == ("s-1", None)


def test_setups_and_heavyjob_flat_payloads_parse_to_their_types() -> None:
    setups = receiver.parse_event(SETUPS)
    assert isinstance(setups, receiver.SetupsEvent)
    assert (setups.business_unit_id, setups.id, setups.product) == ("bu-1", "e-1", "setups")
    heavyjob = receiver.parse_event(HEAVYJOB)
    assert isinstance(heavyjob, receiver.HeavyJobEvent)
    assert heavyjob.product == "heavyjob"


@pytest.mark.parametrize(
    "payload",
    [
        {"companyId": "c-1", "eventType": "InvoicePaid", "invoiceId": "i-1"},
        SETUPS | {"id": 5},
        HEAVYJOB | {"eventType": "EmployeeCreated"},
        PRECON | {"eventSource": "Another Product"},
        PRECON | {"data": {"companyId": "c-1", "businessUnitId": "bu-1"}},
        {},
    ],
)
def test_unknown_shapes_parse_as_generic_events(payload: dict[str, object]) -> None:
    event = receiver.parse_event(payload)
    assert type(event) is receiver.GenericEvent
    assert event.payload == payload
    assert event.product == "unknown"


def test_a_generic_envelope_exposes_its_data_as_fields() -> None:
    payload = PRECON | {"eventSource": "Fleet", "eventType": "TruckMoved", "data": {"truck": "t"}}
    event = receiver.parse_event(payload)
    assert isinstance(event, receiver.GenericEvent)
    assert (event.event_source, event.event_type, event.fields["truck"]) == (
        "Fleet",
        "TruckMoved",
        "t",
    )


@pytest.mark.parametrize(
    ("product", "kind"),
    [
        ("precon", receiver.PreConEvent),
        ("setups", receiver.SetupsEvent),
        ("heavyjob", receiver.HeavyJobEvent),
    ],
)
def test_every_catalog_event_type_parses_to_its_products_type(product: str, kind: type) -> None:
    spec = catalog.load().products[product]
    for event_type in spec.event_types:
        values = {name: f"{name}-value" for name in spec.required_fields(event_type)}
        body = spec.build_payload(
            event_type, "c-1", values, date="2026-11-29T05:00:00Z", base="https://hy.example"
        )
        event = receiver.parse_event(events.loads(body))
        assert isinstance(event, kind), event_type
        assert (event.event_type, event.company_id) == (event_type, "c-1")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
keys = st.sampled_from(
    ["eventSource", "eventType", "companyId", "data", "id", "jobId", "businessUnitId", "x"]
)


@given(payload=st.dictionaries(keys | st.text(max_size=8), json_values, max_size=8))
def test_any_json_object_parses_to_some_event(payload: dict[str, object]) -> None:
    event = receiver.parse_event(payload)
    assert isinstance(event, receiver.Event)
    assert isinstance(event.event_type, str)
    assert isinstance(event.company_id, str)


# The Webhook core that every adapter uses.


def test_webhook_reply_answers_the_challenge_as_plain_text() -> None:
    reply = receiver.Webhook(SECRET).reply("GET", {"challenge": "c" * 40}, {}, b"")
    assert (reply.status, reply.body, reply.event) == (200, "c" * 40, None)
    assert reply.content_type.startswith("text/plain")


def test_webhook_reply_refuses_a_get_without_challenge_and_other_methods() -> None:
    webhook = receiver.Webhook(SECRET)
    assert webhook.reply("GET", "", {}, b"").status == 400
    assert webhook.reply("PUT", "", {}, b"").status == 405


def test_webhook_reply_to_posts() -> None:
    webhook = receiver.Webhook(SECRET, clock=lambda: float(NOW))
    headers, body = delivery(SETUPS)
    good = webhook.reply("POST", "", headers, body)
    assert (good.status, good.error) == (200, None)
    assert isinstance(good.event, receiver.SetupsEvent)
    bad = webhook.reply("POST", "", headers, body + b" ")
    assert (bad.status, bad.event) == (401, None)
    assert isinstance(bad.error, errors.NoMatchingSignature)
    assert bad.body == bad.error.detail
    junk_headers = signing.headers([SECRET], "m", NOW, b"junk")
    assert webhook.reply("POST", "", junk_headers, b"junk").status == 400


# Packaging.


def test_the_public_names() -> None:
    assert set(receiver.__all__) == {
        "DEFAULT_TOLERANCE",
        "Event",
        "GenericEvent",
        "HeavyJobEvent",
        "InvalidInput",
        "InvalidSecret",
        "InvalidTimestamp",
        "MissingHeader",
        "NoMatchingSignature",
        "PreConEvent",
        "Reply",
        "SetupsEvent",
        "TimestampOutOfTolerance",
        "Webhook",
        "WebhookVerificationFailed",
        "challenge_response",
        "generate_secret",
        "parse_event",
        "verify",
    }
    for name in receiver.__all__:
        assert getattr(receiver, name) is not None


def test_importing_the_receiver_loads_no_server_or_framework_module() -> None:
    code = (
        "import sys, hookyard.receiver\n"
        "heavy = {'sqlalchemy', 'fastapi', 'starlette', 'flask', 'aiohttp', 'pydantic', 'orjson'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
