"""Standard Webhooks signatures (https://www.standardwebhooks.com/), pure and dependency-free.

A signature is `v1,` + base64(HMAC-SHA256(key, f"{msg_id}.{timestamp}.{body}")), keyed with the
base64-decoded secret. `webhook-signature` holds one or more signatures separated by spaces, so
that a subscriber rotating its secret can verify with either key.

`verify` is the receiving side: it checks the three headers, the timestamp against a tolerance
and the signatures in constant time, raising one `hookyard.errors.WebhookVerificationFailed`
subclass per failure.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Mapping, Sequence

from hookyard import errors

PREFIX = "whsec_"
MIN_KEY_BYTES = 16
MAX_KEY_BYTES = 64
GENERATED_KEY_BYTES = 32
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
DEFAULT_TOLERANCE = 300
MAX_TIMESTAMP_DIGITS = 20


class InvalidSecret(ValueError):
    """The secret is not standard base64 of 16 to 64 bytes."""


def decode_secret(secret: str) -> bytes:
    """The key bytes of a secret given as base64, with or without the `whsec_` prefix."""
    text = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecret("the secret key must be standard base64") from exc
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise InvalidSecret(
            f"the secret key must decode to {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes,"
            f" not {len(key)}"
        )
    return key


def normalise_secret(secret: str) -> str:
    """The secret without its `whsec_` prefix, after checking it decodes; InvalidSecret if not."""
    decode_secret(secret)
    return secret.removeprefix(PREFIX)


def generate_secret() -> str:
    """A new secret: 32 random bytes in standard base64 (44 characters)."""
    return base64.b64encode(secrets.token_bytes(GENERATED_KEY_BYTES)).decode("ascii")


def signed_content(msg_id: str, timestamp: int | str, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def _signature(key: bytes, msg_id: str, timestamp: int | str, body: bytes) -> str:
    digest = hmac.digest(key, signed_content(msg_id, timestamp, body), "sha256")
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of the message."""
    return _signature(decode_secret(secret), msg_id, timestamp, body)


def signature_header(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per secret, space-separated."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets_)


def headers(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }


def verify(
    secrets_: Sequence[str],
    received: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Check a received webhook's headers and body against any of `secrets_`, or raise.

    `received` holds the request's headers (any letter case); `body` the raw bytes as received.
    Raises MissingHeader, InvalidTimestamp, TimestampOutOfTolerance or NoMatchingSignature.
    """
    keys = [decode_secret(secret) for secret in secrets_]
    lowered = {name.lower(): value for name, value in received.items()}
    msg_id = _required(lowered, ID_HEADER)
    timestamp = _required(lowered, TIMESTAMP_HEADER)
    offered = _required(lowered, SIGNATURE_HEADER).split()
    check_timestamp(timestamp, now=now, tolerance=tolerance)
    expected = [_signature(key, msg_id, timestamp, body).encode() for key in keys]
    if not any(_matches(candidate, expected) for candidate in offered):
        raise errors.NoMatchingSignature(
            f"no signature in {SIGNATURE_HEADER} matches: check that the secret key is the"
            " subscription's secretKey and that you verify the raw body bytes, before any JSON"
            " parsing or re-encoding"
        )


def check_timestamp(value: str, *, now: int, tolerance: int = DEFAULT_TOLERANCE) -> int:
    """The unix seconds in `value` if they are within `tolerance` of `now`, else raise."""
    if not (value.isascii() and value.isdigit() and len(value) <= MAX_TIMESTAMP_DIGITS):
        raise errors.InvalidTimestamp(
            f"{TIMESTAMP_HEADER} {value[:40]!r} is not unix seconds; reject the request"
        )
    seconds = int(value)
    if seconds < now - tolerance:
        raise errors.TimestampOutOfTolerance(
            f"{TIMESTAMP_HEADER} is {now - seconds} s old, beyond the {tolerance} s tolerance:"
            " a replayed request, or this machine's clock is wrong (check NTP)"
        )
    if seconds > now + tolerance:
        raise errors.TimestampOutOfTolerance(
            f"{TIMESTAMP_HEADER} is {seconds - now} s in the future, beyond the {tolerance} s"
            " tolerance: this machine's clock is wrong (check NTP)"
        )
    return seconds


def _required(lowered: Mapping[str, str], name: str) -> str:
    value = lowered.get(name, "").strip()
    if not value:
        raise errors.MissingHeader(
            f"the request has no {name} header: it was not sent by a Standard Webhooks sender,"
            " or a proxy dropped the header; reject it"
        )
    return value


def _matches(candidate: str, expected: Sequence[bytes]) -> bool:
    """Constant-time: every expected signature is compared, whatever matched before."""
    encoded = candidate.encode("utf-8", "replace")
    results = [hmac.compare_digest(encoded, signature) for signature in expected]
    return any(results)
