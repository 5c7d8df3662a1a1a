"""How subscription secretKeys are kept at rest: sealed with AES-GCM (`hookyard.secretbox`),
bound to their record's id, opened only when read.

The keys come from `HOOKYARD_SECRET_KEY` (standard base64 of 32 bytes; several separated by
commas, the first sealing), from the file `HOOKYARD_SECRET_KEY_FILE` names (the same text, commas
or lines: a mounted secret, for many hosts), or, when neither is set, from
`<data_dir>/secretbox/*.key`, one created on first use. Values written before sealing existed are
read as they are and sealed on rotation.

A key file added by another process (`hookyard keys rotate-secret-key`) is picked up without a
restart: the directory is looked at at most once per `check_seconds` (1 s; not on every value,
which the worker opens per delivery), at once before a reseal, and at once when a stored value
does not open with the keys loaded.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from hookyard import errors, ids, secretbox, watched
from hookyard.config import Settings
from hookyard.secretbox import SecretBox, SecretBoxError
from hookyard.watched import WatchedDirectory

KEY_DIRECTORY = "secretbox"


class KeyDirectory(WatchedDirectory):
    """Key files in a directory, read again when a key is added or removed."""

    def load(self) -> SecretBox:
        keys = encryption_keys(self.directory)
        self.seen()
        return SecretBox(keys)


class Sealer:
    """Seals and opens secrets; without a box it stores them as they are (tests, tools).

    With a key directory it picks up a key that `hookyard keys rotate-secret-key` added, in this
    process too, before it seals or opens the next value.
    """

    def __init__(self, box: SecretBox | None = None, keys: KeyDirectory | None = None) -> None:
        self._keys = keys
        self._box = keys.load() if keys is not None else box

    @property
    def box(self) -> SecretBox | None:
        if self._keys is not None and self._keys.changed():
            self._box = self._keys.load()
        return self._box

    def reload(self) -> bool:
        """Look at the key directory now; True when it had changed and the keys were read again."""
        if self._keys is None or not self._keys.changed(force=True):
            return False
        self._box = self._keys.load()
        return True

    def seal(self, secret: str, record_id: str) -> str:
        box = self.box
        return box.seal(secret, record_id) if box else secret

    def seal_optional(self, secret: str | None, record_id: str) -> str | None:
        return None if secret is None else self.seal(secret, record_id)

    def unseal(self, stored: str, record_id: str) -> str:
        box = self.box
        if box is None:
            if stored.startswith(f"{secretbox.PREFIX}:"):
                raise errors.SecretsUnreadable(
                    "A secret key is sealed but no encryption key is configured; set "
                    "HOOKYARD_SECRET_KEY or HOOKYARD_DATA_DIR as the API process has it."
                )
            return stored
        try:
            return box.open(stored, record_id)
        except SecretBoxError as exc:
            if self.reload() and self._box is not None:
                return _open(self._box, stored, record_id)
            raise unreadable(exc, record_id) from exc

    def unseal_optional(self, stored: str | None, record_id: str) -> str | None:
        return None if stored is None else self.unseal(stored, record_id)

    def is_current(self, stored: str) -> bool:
        box = self.box
        return box.is_current(stored) if box else True

    @property
    def kids(self) -> list[str]:
        box = self.box
        return box.kids if box else []

    @property
    def fingerprints(self) -> dict[str, str]:
        """Each key's id and fingerprint, the sealing key first (none without keys)."""
        box = self.box
        return dict(box.fingerprints) if box else {}


def _open(box: SecretBox, stored: str, record_id: str) -> str:
    try:
        return box.open(stored, record_id)
    except SecretBoxError as exc:
        raise unreadable(exc, record_id) from exc


def unreadable(exc: SecretBoxError, record_id: str) -> errors.SecretsUnreadable:
    """The operator's error for a value no key of this process opens (callers learn only that
    Hookyard cannot read its secrets)."""
    return errors.SecretsUnreadable(
        f"{exc} (the secret of {record_id}); check HOOKYARD_SECRET_KEY: give every process the"
        " keys the database was sealed with (HOOKYARD_SECRET_KEY, HOOKYARD_SECRET_KEY_FILE or the"
        " data directory's secretbox/*.key; `hookyard check` compares them), or have the"
        " subscriber set a new secretKey"
    )


def key_directory(settings: Settings) -> Path:
    return settings.data_dir / KEY_DIRECTORY


def encryption_keys(directory: Path, configured: str = "") -> list[tuple[str, bytes]]:
    """The keys that seal secrets at rest, the sealing one first (see the module docstring)."""
    if configured.strip():
        return [(secretbox.key_id(key), key) for key in secretbox.parse_keys(configured)]
    if not sorted(directory.glob("*.key")):
        add_encryption_key(directory)
    files = sorted(directory.glob("*.key"), reverse=True)
    return [(path.stem, secretbox.parse_key(path.read_text())) for path in files]


def add_encryption_key(directory: Path) -> str:
    """Write a new key file, which becomes the sealing key; its id."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    kid = ids.key_id()
    text = base64.b64encode(secretbox.new_key()).decode()
    descriptor = os.open(directory / f"{kid}.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    return kid


def configured_keys(settings: Settings) -> str:
    """The key text of `HOOKYARD_SECRET_KEY` or of `HOOKYARD_SECRET_KEY_FILE`; empty when the
    keys live in the data directory. Misconfigured for a file that cannot be read or a bad key."""
    text = settings.secret_key
    setting = "HOOKYARD_SECRET_KEY"
    if settings.secret_key_file is not None:
        setting = "HOOKYARD_SECRET_KEY_FILE"
        text = read_key_file(settings.secret_key_file, setting)
        if not text.strip():
            raise errors.Misconfigured(
                f"{setting}: {settings.secret_key_file} holds no key; "
                "put one in it (`hookyard keys generate secret`)"
            )
    try:
        secretbox.parse_keys(text)
    except ValueError as exc:
        raise errors.Misconfigured(
            f"{setting}: {exc}; generate one with `hookyard keys generate secret`"
        ) from exc
    return text


def read_key_file(path: Path, setting: str) -> str:
    """The text of a key file; Misconfigured, naming `setting`, when it cannot be read."""
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise errors.Misconfigured(
            f"{setting}: cannot read {path} ({reason}); mount the key file there "
            "or correct the path"
        ) from exc


def sealer_for(settings: Settings) -> Sealer:
    """The sealer of this deployment's keys: `HOOKYARD_SECRET_KEY` or its file, else the key
    directory."""
    configured = configured_keys(settings)
    if configured.strip():
        return Sealer(SecretBox(encryption_keys(Path(), configured)))
    directory = key_directory(settings)
    with watched.creating(directory):
        if not sorted(directory.glob("*.key")):
            add_encryption_key(directory)
    return Sealer(keys=KeyDirectory(directory))


def sealed_with(kid: str) -> str:
    """The LIKE pattern of values sealed with key `kid`."""
    return f"{secretbox.PREFIX}:{kid}:%"
