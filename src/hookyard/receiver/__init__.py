"""The subscriber toolkit: answer Hookyard's challenge and verify its signed deliveries.

Needs nothing of the server (no database, no FastAPI); the framework adapters
`hookyard.receiver.starlette` (Starlette and FastAPI), `hookyard.receiver.flask` and
`hookyard.receiver.aiohttp` import their framework only when you import them.

    event = verify(secret_key, request_headers, raw_body)   # or raises WebhookVerificationFailed
    body = challenge_response(query)                          # answer 200 text/plain with it
"""

from __future__ import annotations

from hookyard.errors import (
    InvalidInput,
    InvalidTimestamp,
    MissingHeader,
    NoMatchingSignature,
    TimestampOutOfTolerance,
    WebhookVerificationFailed,
)
from hookyard.receiver.challenge import challenge_response
from hookyard.receiver.events import (
    Event,
    GenericEvent,
    HeavyJobEvent,
    PreConEvent,
    SetupsEvent,
    parse_event,
)
from hookyard.receiver.verification import DEFAULT_TOLERANCE, verify
from hookyard.receiver.webhook import Reply, Webhook
from hookyard.signing import InvalidSecret, generate_secret

__all__ = [
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
]
