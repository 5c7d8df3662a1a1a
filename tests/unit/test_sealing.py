"""The sealer's key directory: a key added by another process is used for sealing after the
check interval (not looked for on every value), and a value sealed with it opens at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hookyard import errors
from hookyard.store import sealing
from hookyard.store.sealing import KeyDirectory, Sealer
from tests.support.clocks import FakeClock


def _sealer(directory: Path, time: FakeClock) -> Sealer:
    return Sealer(keys=KeyDirectory(directory, check_seconds=1.0, monotonic=time))


def _kid(sealed: str) -> str:
    return sealed.split(":")[1]


def test_a_new_key_seals_once_the_interval_has_passed(tmp_path: Path) -> None:
    time = FakeClock()
    sealing.add_encryption_key(tmp_path)
    serving = _sealer(tmp_path, time)
    old = _kid(serving.seal("s3cret", "rec"))
    os.utime(tmp_path, (0, 0))
    new = sealing.add_encryption_key(tmp_path)
    time.now += 0.5
    assert _kid(serving.seal("s3cret", "rec")) == old, "looked at the directory too soon"
    time.now += 0.5
    sealed = serving.seal("s3cret", "rec")
    assert _kid(sealed) == new != old
    assert serving.unseal(sealed, "rec") == "s3cret"


def test_a_value_sealed_with_a_key_not_yet_loaded_opens_at_once(tmp_path: Path) -> None:
    time = FakeClock()
    sealing.add_encryption_key(tmp_path)
    serving = _sealer(tmp_path, time)
    serving.seal("warm", "rec")
    os.utime(tmp_path, (0, 0))
    sealing.add_encryption_key(tmp_path)
    other = _sealer(tmp_path, FakeClock())
    sealed = other.seal("s3cret", "rec")
    assert serving.unseal(sealed, "rec") == "s3cret"


def test_a_tampered_value_still_fails_loudly(tmp_path: Path) -> None:
    sealing.add_encryption_key(tmp_path)
    serving = _sealer(tmp_path, FakeClock())
    sealed = serving.seal("s3cret", "rec")
    with pytest.raises(errors.SecretsUnreadable, match="does not open"):
        serving.unseal(sealed, "another record")
