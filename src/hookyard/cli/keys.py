"""`hookyard keys`: rotate the token signing key and the key that seals secrets at rest."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from hookyard.cli import options
from hookyard.cli.tenancy import run

if TYPE_CHECKING:
    from hookyard.cli.runtime import Runtime

keys = typer.Typer(help="Signing and encryption keys in the data directory.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@keys.command("rotate-jwt")
def rotate_jwt(as_json: bool = JSON) -> None:
    """Start signing tokens with a new key; older keys stay in the JWKS until pruned.

    Restart or signal nothing: running servers pick the new key up when they first see it.
    """
    from hookyard.services.keys import KeyRing

    settings = options.settings()
    ring = KeyRing(settings.data_dir / "jwt")
    new = ring.rotate()
    view = {"kid": new.kid, "published": [key.kid for key in ring.keys]}
    options.emit(view, as_json=as_json, text=f"now signing with {new.kid}")


@keys.command("prune-jwt")
def prune_jwt(as_json: bool = JSON) -> None:
    """Remove old signing keys whose tokens have all expired (older than the token lifetime)."""
    from hookyard.services.keys import KeyRing

    settings = options.settings()
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
    if settings.secret_key.strip():
        options.fail(
            "HOOKYARD_SECRET_KEY is set: put a new key first in it (NEW,OLD), restart, "
            "then run `hookyard keys reseal`"
        )
    kid = sealing.add_encryption_key(sealing.key_directory(settings))
    changed = run(lambda rt: rt.store.subscriptions.reseal())
    view = {"kid": kid, "resealed": changed}
    options.emit(
        view, as_json=as_json, text=f"now sealing with {kid}; resealed {changed} record(s)"
    )


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
