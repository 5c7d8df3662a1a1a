"""`hookyard keys`: rotate the token signing key (and, later, the key that encrypts secrets)."""

from __future__ import annotations

import time

import typer

from hookyard.cli import options
from hookyard.services.keys import KeyRing

keys = typer.Typer(help="Signing and encryption keys in the data directory.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


@keys.command("rotate-jwt")
def rotate_jwt(as_json: bool = JSON) -> None:
    """Start signing tokens with a new key; older keys stay in the JWKS until pruned.

    Restart or signal nothing: running servers pick the new key up when they first see it.
    """
    settings = options.settings()
    ring = KeyRing(settings.data_dir / "jwt")
    new = ring.rotate()
    view = {"kid": new.kid, "published": [key.kid for key in ring.keys]}
    options.emit(view, as_json=as_json, text=f"now signing with {new.kid}")


@keys.command("prune-jwt")
def prune_jwt(as_json: bool = JSON) -> None:
    """Remove old signing keys whose tokens have all expired (older than the token lifetime)."""
    settings = options.settings()
    ring = KeyRing(settings.data_dir / "jwt")
    removed = ring.prune(older_than=time.time() - settings.token_ttl_seconds)
    options.emit({"removed": removed}, as_json=as_json, text=f"removed {len(removed)} key(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(keys, name="keys")
