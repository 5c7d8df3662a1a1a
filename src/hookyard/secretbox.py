"""Encryption at rest for secrets Hookyard must show again (subscription secretKeys).

AES-256-GCM with a random 96-bit nonce; the sealed form `hy1:<kid>:<base64url(nonce||ct)>`
names its key, so keys can rotate: the first key seals, every key opens. The record's id is bound
in as associated data, so a sealed value copied onto another record does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "hy1"
KEY_BYTES = 32
NONCE_BYTES = 12


class SecretBoxError(ValueError):
    """A sealed value that no configured key opens."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def parse_key(text: str) -> bytes:
    """A key from its standard-base64 text; ValueError unless it is 32 bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("an encryption key must be standard base64 of 32 bytes") from exc
    if len(key) != KEY_BYTES:
        raise ValueError(f"an encryption key must be 32 bytes, not {len(key)}")
    return key


def parse_keys(text: str) -> list[bytes]:
    """Keys from text that separates them by commas or white space (a variable or a key file),
    the sealing one first; ValueError for any that is not 32 bytes of standard base64."""
    return [parse_key(part) for part in re.split(r"[,\s]+", text) if part]


def key_id(key: bytes) -> str:
    """The id of a key given in configuration: the same on every host that has the key."""
    return hashlib.sha256(key).hexdigest()[:12]


def fingerprint(key: bytes) -> str:
    """What a database may keep to recognise a key without being able to use it."""
    return hashlib.sha256(b"hookyard secret key fingerprint\0" + key).hexdigest()


class SecretBox:
    """Seals with the first key, opens with any."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("a secret box needs at least one key")
        self._keys = {kid: AESGCM(key) for kid, key in keys}
        self.fingerprints = {kid: fingerprint(key) for kid, key in keys}
        self.current = keys[0][0]

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    def seal(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.current].encrypt(nonce, plaintext.encode(), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}:{self.current}:{body}"

    def open(self, sealed: str, context: str) -> str:
        """The plaintext; a value that is not sealed (written before encryption) is returned."""
        prefix, _, rest = sealed.partition(":")
        if prefix != PREFIX:
            return sealed
        kid, _, body = rest.partition(":")
        cipher = self._keys.get(kid)
        if cipher is None:
            raise SecretBoxError(f"no encryption key {kid!r} is configured; restore it")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise SecretBoxError("a sealed secret does not open: wrong key or tampered") from exc

    def is_current(self, sealed: str) -> bool:
        return sealed.startswith(f"{PREFIX}:{self.current}:")
