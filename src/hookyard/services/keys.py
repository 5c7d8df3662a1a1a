"""The JWT signing keys: from `HOOKYARD_JWT_KEYS` or the file `HOOKYARD_JWT_KEYS_FILE` names
(`FixedKeyRing`: the first signs, the rest verify; the same on every host that has them), else
Ed25519 PEM files in `<data_dir>/jwt/`, newest first (`KeyRing`).

A configured key is standard base64 of a 32-byte Ed25519 private key (`hookyard keys generate
jwt`), several separated by commas or lines; its id is derived from its public key, so every
process with the key gives tokens the same `kid`.

The newest key signs; every key still in the directory is published in the JWKS so that tokens
signed before a rotation verify until they expire. `rotate` adds a new key; `prune` removes keys
older than the token lifetime beyond the newest.

Another process may rotate or prune: the directory is looked at again at most once per
`check_seconds` (1 s), and at once for a key id not yet seen, so a request does not pay a `stat`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from hookyard import clock, errors, ids, watched
from hookyard.config import Settings
from hookyard.store.sealing import read_key_file
from hookyard.watched import CHECK_SECONDS, WatchedDirectory

ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey
    created: float

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = OKPAlgorithm.to_jwk(self.public, as_dict=True)
        jwk.update({"kid": self.kid, "alg": ALGORITHM, "use": "sig"})
        return jwk

    @property
    def fingerprint(self) -> str:
        """What a database may keep to recognise the key: a hash of its public half."""
        return hashlib.sha256(
            b"hookyard jwt key fingerprint\0" + _raw_public(self.public)
        ).hexdigest()


class SigningKeys(Protocol):
    """What tokens are signed and verified with: a `KeyRing` or a `FixedKeyRing`."""

    @property
    def keys(self) -> list[SigningKey]: ...

    @property
    def current(self) -> SigningKey: ...

    def find(self, kid: str) -> SigningKey | None: ...

    def jwks(self) -> dict[str, Any]: ...


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def configured_key(seed: bytes) -> SigningKey:
    """The signing key of a 32-byte Ed25519 private key given in configuration."""
    private = Ed25519PrivateKey.from_private_bytes(seed)
    kid = "k" + hashlib.sha256(_raw_public(private.public_key())).hexdigest()[:19]
    return SigningKey(kid, private, 0.0)


def parse_keys(text: str) -> list[SigningKey]:
    """Keys from text separating them by commas or white space, the signing one first;
    ValueError for one that is not standard base64 of 32 bytes."""
    keys = []
    for part in re.split(r"[,\s]+", text):
        if not part:
            continue
        try:
            seed = base64.b64decode(part, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("a JWT key must be standard base64 of 32 bytes") from exc
        if len(seed) != 32:
            raise ValueError(f"a JWT key must be 32 bytes, not {len(seed)}")
        keys.append(configured_key(seed))
    return keys


def new_key_text() -> str:
    """A new configured key: standard base64 of a fresh Ed25519 private key."""
    seed = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(seed).decode()


class FixedKeyRing:
    """Keys given in configuration: the first signs, every one verifies; changed by a restart."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self.keys = keys

    @property
    def current(self) -> SigningKey:
        return self.keys[0]

    def find(self, kid: str) -> SigningKey | None:
        return next((key for key in self.keys if key.kid == kid), None)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.keys]}


def configured_ring(settings: Settings) -> FixedKeyRing | None:
    """The ring `HOOKYARD_JWT_KEYS` or `HOOKYARD_JWT_KEYS_FILE` gives, None when neither is set;
    Misconfigured when the file cannot be read or a key is not one."""
    text, setting = settings.jwt_keys, "HOOKYARD_JWT_KEYS"
    if settings.jwt_keys_file is not None:
        setting = "HOOKYARD_JWT_KEYS_FILE"
        text = read_key_file(settings.jwt_keys_file, setting)
    elif not text.strip():
        return None
    try:
        keys = parse_keys(text)
    except ValueError as exc:
        raise errors.Misconfigured(
            f"{setting}: {exc}; generate one with `hookyard keys generate jwt`"
        ) from exc
    if not keys:
        raise errors.Misconfigured(
            f"{setting} holds no key; put one in it (`hookyard keys generate jwt`)"
        )
    return FixedKeyRing(keys)


def jwt_directory(settings: Settings) -> Path:
    return settings.data_dir / "jwt"


def ring_for(settings: Settings) -> SigningKeys:
    """This deployment's signing keys: configured ones, else the data directory's."""
    return configured_ring(settings) or KeyRing(jwt_directory(settings))


class KeyRing:
    """The signing keys of one data directory."""

    def __init__(
        self,
        directory: Path,
        *,
        check_seconds: float = CHECK_SECONDS,
        monotonic: clock.Monotonic = time.monotonic,
    ) -> None:
        self.directory = directory
        self._watch = WatchedDirectory(directory, check_seconds=check_seconds, monotonic=monotonic)
        with watched.creating(directory):
            self.keys = self._load()
            if not self.keys:
                self.rotate()

    def _load(self) -> list[SigningKey]:
        self._watch.seen()
        keys = []
        for path in sorted(self.directory.glob("*.pem")):
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(private, Ed25519PrivateKey):
                keys.append(SigningKey(path.stem, private, path.stat().st_mtime))
        return sorted(keys, key=lambda key: key.kid, reverse=True)

    def refresh(self, *, force: bool = False) -> None:
        """Read the directory again if a key was added or removed (by another process); looks
        at most once per `check_seconds` unless `force`."""
        if self._watch.changed(force=force):
            self.keys = self._load() or self.keys

    @property
    def current(self) -> SigningKey:
        self.refresh()
        return self.keys[0]

    def find(self, kid: str) -> SigningKey | None:
        """The key `kid`; the directory is looked at again at once for a kid not yet seen (a
        rotation by another process)."""
        self.refresh()
        key = self._known(kid)
        if key is None:
            self.refresh(force=True)
            key = self._known(kid)
        return key

    def _known(self, kid: str) -> SigningKey | None:
        return next((key for key in self.keys if key.kid == kid), None)

    def rotate(self) -> SigningKey:
        """Create a new signing key; older keys stay published until pruned."""
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        private = Ed25519PrivateKey.generate()
        kid = ids.key_id()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = self.directory / f"{kid}.pem"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        self.keys = self._load()
        return self.current

    def prune(self, older_than: float) -> list[str]:
        """Remove keys (but never the newest) created before `older_than` (epoch seconds)."""
        removed = []
        for key in self.keys[1:]:
            if key.created < older_than:
                (self.directory / f"{key.kid}.pem").unlink(missing_ok=True)
                removed.append(key.kid)
        self.keys = self._load()
        return removed

    def jwks(self) -> dict[str, Any]:
        self.refresh()
        return {"keys": [key.jwk() for key in self.keys]}
