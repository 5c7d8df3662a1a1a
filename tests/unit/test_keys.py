"""The JWT key ring on a real directory: rotation seen across instances, pruning."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hookyard.services.keys import KeyRing


def test_a_new_ring_creates_one_private_key_readable_by_the_owner_only(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "jwt")
    files = list((tmp_path / "jwt").glob("*.pem"))
    assert [f.stem for f in files] == [ring.current.kid]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "jwt").stat().st_mode) == 0o700


def test_a_rotation_by_another_process_is_picked_up(tmp_path: Path) -> None:
    serving = KeyRing(tmp_path / "jwt")
    old = serving.current.kid
    os.utime(tmp_path / "jwt", (0, 0))
    new = KeyRing(tmp_path / "jwt").rotate().kid
    assert serving.current.kid == new != old
    assert serving.find(old) is not None
    assert {key["kid"] for key in serving.jwks()["keys"]} == {old, new}


def test_prune_removes_old_keys_but_never_the_newest(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "jwt")
    first = ring.current.kid
    second = ring.rotate().kid
    assert ring.prune(older_than=float("inf")) == [first]
    assert [key.kid for key in ring.keys] == [second]
    assert ring.prune(older_than=float("inf")) == []
