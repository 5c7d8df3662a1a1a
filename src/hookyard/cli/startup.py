"""What `serve`, `api` and `worker` check before they start: that their keys are the ones the
database has seen (`services.key_check`); a mismatch ends the command with one `error:` line."""

from __future__ import annotations

import asyncio

from hookyard import errors
from hookyard.cli import options
from hookyard.config import Settings
from hookyard.services import key_check
from hookyard.services import keys as signing_keys
from hookyard.store import Store, sealing


def jwt_source(settings: Settings) -> str:
    if settings.jwt_keys_file is not None:
        return f"HOOKYARD_JWT_KEYS_FILE={settings.jwt_keys_file}"
    if settings.jwt_keys.strip():
        return "HOOKYARD_JWT_KEYS"
    return f"the key files in {signing_keys.jwt_directory(settings)}"


def secret_source(settings: Settings) -> str:
    if settings.secret_key_file is not None:
        return f"HOOKYARD_SECRET_KEY_FILE={settings.secret_key_file}"
    if settings.secret_key.strip():
        return "HOOKYARD_SECRET_KEY"
    return f"the key files in {sealing.key_directory(settings)}"


def directory(settings: Settings, kind: str) -> str:
    if kind == key_check.JWT:
        return str(signing_keys.jwt_directory(settings))
    return str(sealing.key_directory(settings))


def directory_is_empty(settings: Settings, kind: str) -> bool:
    """No key configured for `kind` and none in its data directory: one would be made."""
    if kind == key_check.JWT:
        configured = settings.jwt_keys.strip() or settings.jwt_keys_file
        files = signing_keys.jwt_directory(settings).glob("*.pem")
    else:
        configured = settings.secret_key.strip() or settings.secret_key_file
        files = sealing.key_directory(settings).glob("*.key")
    return not configured and not any(files)


def rings(settings: Settings, kinds: tuple[str, ...]) -> list[key_check.Ring]:
    """This process's keys of each kind (made in the data directory on first use); Misconfigured
    for a key file that cannot be read or a key that is not one."""
    found = []
    if key_check.JWT in kinds:
        ring = signing_keys.ring_for(settings)
        keys = {key.kid: key.fingerprint for key in ring.keys}
        found.append(key_check.Ring(key_check.JWT, keys, jwt_source(settings)))
    if key_check.SECRET in kinds:
        sealer = sealing.sealer_for(settings)
        found.append(key_check.Ring(key_check.SECRET, sealer.fingerprints, secret_source(settings)))
    return found


async def key_problems(
    settings: Settings, kinds: tuple[str, ...], *, record: bool, make: bool = True
) -> list[str]:
    """Every problem with this process's keys of `kinds`; with none and `record`, the database
    notes them. A kind with no key yet gets one in the data directory when `make`, else is
    skipped. The database must be migrated."""
    store = Store(settings.database_url, pool_size=1)
    try:
        found: list[str] = []
        present = []
        for kind in kinds:
            if directory_is_empty(settings, kind):
                found += await key_check.unseen_directory(store, kind, directory(settings, kind))
                if not make:
                    continue
            present.append(kind)
        if found:
            return found
        return await key_check.verify(store, rings(settings, tuple(present)), record=record)
    finally:
        await store.close()


def check_keys(settings: Settings, kinds: tuple[str, ...]) -> None:
    """Exit with one `error:` line unless this process's keys match the database's."""
    try:
        found = asyncio.run(key_problems(settings, kinds, record=True))
    except errors.HookyardError as exc:
        options.fail(exc.detail, code=1)
    if found:
        more = f" (and {len(found) - 1} more: run `hookyard check`)" if len(found) > 1 else ""
        options.fail(found[0] + more, code=1)
