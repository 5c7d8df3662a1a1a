"""Verify a delivered webhook and parse it: one call for any framework."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from hookyard import signing
from hookyard.receiver import events

DEFAULT_TOLERANCE = signing.DEFAULT_TOLERANCE


def verify(
    secret_key: str | Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: int | None = None,
) -> events.Event:
    """The typed event of a delivery whose Standard Webhooks signature checks out, or raise.

    `secret_key` is the subscription's secretKey (with or without `whsec_`), or several during a
    rotation; `headers` the request headers (any letter case); `body` the raw bytes as received,
    before any JSON parsing. `tolerance` is how many seconds `webhook-timestamp` may be off.

    Raises `errors.WebhookVerificationFailed` (MissingHeader, InvalidTimestamp,
    TimestampOutOfTolerance, NoMatchingSignature): answer 401. Raises `errors.InvalidInput`
    when a correctly signed body is not a JSON object: answer 400.
    """
    secrets_ = [secret_key] if isinstance(secret_key, str) else list(secret_key)
    moment = int(time.time()) if now is None else now
    signing.verify(secrets_, headers, body, now=moment, tolerance=tolerance)
    webhook_id = {name.lower(): value for name, value in headers.items()}[signing.ID_HEADER]
    return events.parse_event(events.loads(body), webhook_id=webhook_id.strip())
