"""The JWT key ring on a real directory: rotation seen across instances (looked for at most once
per interval, at once for an unknown key id), pruning."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hookyard.services.keys import KeyRing
from tests.support.clocks import FakeClock


def test_a_new_ring_creates_one_private_key_readable_by_the_owner_only(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "jwt")
    files = list((tmp_path / "jwt").glob("*.pem"))
    assert [f.stem for f in files] == [ring.current.kid]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "jwt").stat().st_mode) == 0o700


def test_a_rotation_by_another_process_is_picked_up_after_the_interval(tmp_path: Path) -> None:
    time = FakeClock()
    serving = KeyRing(tmp_path / "jwt", check_seconds=1.0, monotonic=time)
    old = serving.current.kid
    os.utime(tmp_path / "jwt", (0, 0))
    new = KeyRing(tmp_path / "jwt").rotate().kid
    time.now += 0.5
    assert serving.current.kid == old, "the directory was looked at again within the interval"
    time.now += 0.5
    assert serving.current.kid == new != old
    assert serving.find(old) is not None
    assert {key["kid"] for key in serving.jwks()["keys"]} == {old, new}


def test_a_token_signed_with_a_key_not_yet_seen_finds_it_at_once(tmp_path: Path) -> None:
    time = FakeClock()
    serving = KeyRing(tmp_path / "jwt", check_seconds=1.0, monotonic=time)
    old = serving.current.kid
    os.utime(tmp_path / "jwt", (0, 0))
    new = KeyRing(tmp_path / "jwt").rotate().kid
    found = serving.find(new)
    assert found is not None
    assert found.kid == new
    assert serving.find("no-such-key") is None
    assert serving.find(old) is not None


def test_prune_removes_old_keys_but_never_the_newest(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "jwt")
    first = ring.current.kid
    second = ring.rotate().kid
    assert ring.prune(older_than=float("inf")) == [first]
    assert [key.kid for key in ring.keys] == [second]
    assert ring.prune(older_than=float("inf")) == []
