"""The JWT signing keys: Ed25519 PEM files in `<data_dir>/jwt/`, newest first.

The newest key signs; every key still in the directory is published in the JWKS so that tokens
signed before a rotation verify until they expire. `rotate` adds a new key; `prune` removes keys
older than the token lifetime beyond the newest.

Another process may rotate or prune: the directory is looked at again at most once per
`check_seconds` (1 s), and at once for a key id not yet seen, so a request does not pay a `stat`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from hookyard import clock, ids
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
