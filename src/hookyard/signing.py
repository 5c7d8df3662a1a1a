"""Standard Webhooks signatures (https://www.standardwebhooks.com/), pure and dependency-free.

A signature is `v1,` + base64(HMAC-SHA256(key, f"{msg_id}.{timestamp}.{body}")), keyed with the
base64-decoded secret. `webhook-signature` holds one or more signatures separated by spaces, so
that a subscriber rotating its secret can verify with either key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"
MIN_KEY_BYTES = 16
MAX_KEY_BYTES = 64
GENERATED_KEY_BYTES = 32


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


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of the message."""
    digest = hmac.new(
        decode_secret(secret), signed_content(msg_id, timestamp, body), hashlib.sha256
    )
    return "v1," + base64.b64encode(digest.digest()).decode("ascii")


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
