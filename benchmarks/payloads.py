"""The bodies every contender sends: a Pre-Construction event, tagged so latency can be measured.

The tag is the event's `projectId`, a GUID whose last group is the sequence number, so the
receiver can name the event of each receipt and the publisher's clock gives its publish time.
"""

from __future__ import annotations

import uuid

import orjson

from hookyard import clock, ids, signing

PRODUCT = "precon"
EVENT_TYPE = "ProjectChanged"
EVENT_SOURCE = "HeavyBid Pre-Construction"
COMPANY = "0c2c5b7e-6f1a-4f7e-9a51-3b1d2c4e5f60"
BUSINESS_UNIT = "7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6"
SECRET = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes of base64: a fixed, public test key
BASE_URL = "http://127.0.0.1:8000"


def tag(seq: int) -> str:
    """The GUID-shaped projectId of event number `seq`."""
    return f"00000000-0000-4000-8000-{seq:012d}"


def seq_of(tag_text: str) -> int:
    """The event number in a tag; -1 when the tag is not one of ours."""
    try:
        return int(uuid.UUID(tag_text).hex[-12:])
    except ValueError:
        return -1


def event_fields(
    seq: int, company: str = COMPANY, business_unit: str = BUSINESS_UNIT
) -> dict[str, str]:
    """What the product publishes (`POST /events/api/v1/precon`)."""
    return {
        "eventType": EVENT_TYPE,
        "companyId": company,
        "businessUnitId": business_unit,
        "projectId": tag(seq),
    }


def delivery_body(seq: int) -> bytes:
    """The HCSS body Hookyard delivers for that event (spec section 5)."""
    project = tag(seq)
    entity = f"{BASE_URL}/precon/api/v1/businessUnits/{BUSINESS_UNIT}/Projects/{project}"
    return orjson.dumps(
        {
            "eventSource": EVENT_SOURCE,
            "eventType": EVENT_TYPE,
            "entityUrl": entity,
            "version": "1",
            "date": clock.isoformat(clock.utcnow()),
            "data": {"companyId": COMPANY, "businessUnitId": BUSINESS_UNIT, "projectId": project},
        }
    )


def signed_headers(body: bytes, timestamp: int) -> dict[str, str]:
    """Fresh delivery id and the Standard Webhooks headers, as one Hookyard attempt has."""
    headers = signing.headers([SECRET], ids.prefixed(ids.DELIVERY), timestamp, body)
    headers["Content-Type"] = "application/json"
    return headers
