"""`hookyard keys`: rotate the token signing key and the key that seals secrets at rest."""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING, Any

import typer

from hookyard.cli import options
from hookyard.cli.tenancy import run

if TYPE_CHECKING:
    from hookyard.cli.runtime import Runtime
    from hookyard.config import Settings

keys = typer.Typer(
    help="Token signing keys and the keys that seal secrets at rest.", no_args_is_help=True
)
JSON = options.JSON
KINDS = ("jwt", "secret")


@keys.command("generate")
def generate(kind: str = typer.Argument(..., help="jwt or secret", show_default=False)) -> None:
    """Print a new key for a key file (HOOKYARD_JWT_KEYS_FILE, HOOKYARD_SECRET_KEY_FILE).

    A file holds one key per line, the current one first; give every process the same file.
    """
    from hookyard import secretbox
    from hookyard.services import keys as signing_keys

    if kind not in KINDS:
        options.fail(f"KIND must be jwt or secret, not {kind!r}")
    text = signing_keys.new_key_text() if kind == "jwt" else _new_secret_key(secretbox)
    typer.echo(text)


def _new_secret_key(secretbox: Any) -> str:
    return base64.b64encode(secretbox.new_key()).decode()


def _refuse_configured_jwt_keys(settings: Settings) -> None:
    if settings.jwt_keys.strip() or settings.jwt_keys_file is not None:
        options.fail(
            "the JWT keys are configured (HOOKYARD_JWT_KEYS or HOOKYARD_JWT_KEYS_FILE): rotate "
            "them there as docs/deploy.md#keys says"
        )


async def _record_jwt(rt: Runtime) -> None:
    from hookyard.services import key_check

    ring = {key.kid: key.fingerprint for key in rt.keys.keys}
    await rt.store.fingerprints.record(key_check.JWT, ring, rt.keys.current.kid)


@keys.command("rotate-jwt")
def rotate_jwt(as_json: bool = JSON) -> None:
    """Start signing tokens with a new key; older keys stay in the JWKS until pruned.

    Restart or signal nothing: running servers pick the new key up when they first see it.
    """
    from hookyard.services.keys import KeyRing

    settings = options.settings()
    _refuse_configured_jwt_keys(settings)
    ring = KeyRing(settings.data_dir / "jwt")
    new = ring.rotate()
    run(_record_jwt)
    view = {"kid": new.kid, "published": [key.kid for key in ring.keys]}
    options.emit(view, as_json=as_json, text=f"now signing with {new.kid}")


@keys.command("prune-jwt")
def prune_jwt(as_json: bool = JSON) -> None:
    """Remove old signing keys whose tokens have all expired (older than the token lifetime)."""
    from hookyard.services.keys import KeyRing

    settings = options.settings()
    _refuse_configured_jwt_keys(settings)
    ring = KeyRing(settings.data_dir / "jwt")
    removed = ring.prune(older_than=time.time() - settings.token_ttl_seconds)
    options.emit({"removed": removed}, as_json=as_json, text=f"removed {len(removed)} key(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(keys, name="keys")


@keys.command("rotate-secret-key")
def rotate_secret_key(as_json: bool = JSON) -> None:
    """Seal subscription secretKeys with a new key file; running processes pick it up.

    The old key files stay until `prune-secret-keys` finds nothing sealed with them.
    With HOOKYARD_SECRET_KEY set instead, put the new key first in it and run `reseal`.
    """
    from hookyard.store import sealing

    settings = options.settings()
    if settings.secret_key.strip() or settings.secret_key_file is not None:
        options.fail(
            "the secret-sealing keys are configured (HOOKYARD_SECRET_KEY or "
            "HOOKYARD_SECRET_KEY_FILE): rotate them there as docs/deploy.md#keys says, "
            "then run `hookyard keys reseal`"
        )
    kid = sealing.add_encryption_key(sealing.key_directory(settings))
    changed = run(_record_and_reseal)
    view = {"kid": kid, "resealed": changed}
    options.emit(
        view, as_json=as_json, text=f"now sealing with {kid}; resealed {changed} record(s)"
    )


async def _record_and_reseal(rt: Runtime) -> int:
    from hookyard.services import key_check

    fingerprints = rt.store.sealer.fingerprints
    await rt.store.fingerprints.record(key_check.SECRET, fingerprints, next(iter(fingerprints)))
    return await rt.store.subscriptions.reseal()


@keys.command("reseal")
def reseal(as_json: bool = JSON) -> None:
    """Seal every stored secretKey with the current (first) key."""
    changed = run(lambda rt: rt.store.subscriptions.reseal())
    options.emit({"resealed": changed}, as_json=as_json, text=f"resealed {changed} record(s)")


@keys.command("prune-secret-keys")
def prune_secret_keys(as_json: bool = JSON) -> None:
    """Remove key files that no stored secret is sealed with (never the newest)."""
    from hookyard.store import sealing

    settings = options.settings()
    directory = sealing.key_directory(settings)

    async def unused(rt: Runtime) -> list[str]:
        files = sorted(directory.glob("*.key"), reverse=True)[1:]
        return [path.stem for path in files if not await rt.store.subscriptions.uses_key(path.stem)]

    removed = run(unused)
    for kid in removed:
        (directory / f"{kid}.key").unlink(missing_ok=True)
    options.emit({"removed": removed}, as_json=as_json, text=f"removed {len(removed)} key(s)")


@keys.command("forget")
def forget(
    kind: str = typer.Argument(..., help="jwt or secret", show_default=False),
    kid: str = typer.Argument(..., help="the key's id, as `hookyard check` names it"),
) -> None:
    """Make the database forget a key that is lost for good, so processes start without it.

    Tokens signed with a forgotten JWT key stop working (clients request new ones). A
    secret-sealing key that still seals a stored secret is refused: restore it instead.
    """
    from hookyard.services import key_check

    if kind not in KINDS:
        options.fail(f"KIND must be jwt or secret, not {kind!r}")

    async def forget_key(rt: Runtime) -> bool:
        if kind == key_check.SECRET and await rt.store.subscriptions.uses_key(kid):
            options.fail(
                f"stored secrets are sealed with {kid}: restore that key from a backup; "
                "forgetting it would not open them",
                code=1,
            )
        return await rt.store.fingerprints.forget(kind, kid)

    known = run(forget_key)
    typer.echo(f"forgot {kind} key {kid}" if known else f"the database had no {kind} key {kid}")
