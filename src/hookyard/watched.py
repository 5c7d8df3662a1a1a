"""A directory of key files that another process may change (`hookyard keys ...`).

Adding or removing a file changes the directory's mtime. `changed()` compares it with the one
noted by `seen()`, but looks at most once per `check_seconds` (unless forced), so that a request
or a delivery does not pay a `stat`: the JWT signing keys (`services.keys`) and the keys that
seal secrets at rest (`store.sealing`) are both watched this way.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hookyard import clock

CHECK_SECONDS = 1.0


class WatchedDirectory:
    """A directory whose changes are noticed within `check_seconds`."""

    def __init__(
        self,
        directory: Path,
        *,
        check_seconds: float = CHECK_SECONDS,
        monotonic: clock.Monotonic = time.monotonic,
    ) -> None:
        self.directory = directory
        self._seen = -1.0
        self._check = clock.Every(check_seconds, monotonic)

    def changed(self, *, force: bool = False) -> bool:
        """Whether a file was added or removed since `seen()`; looks at most once per
        `check_seconds` unless `force`."""
        if not self._check.due() and not force:
            return False
        return self.directory.stat().st_mtime != self._seen

    def seen(self) -> None:
        """Note the directory as it is now (its files were just read)."""
        self._seen = self.directory.stat().st_mtime if self.directory.exists() else -1.0


@contextmanager
def creating(directory: Path) -> Iterator[None]:
    """Hold the directory's lock file while the block looks for keys and makes the first one, so
    that processes starting at once on an empty directory make one key between them, not one
    each."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    descriptor = os.open(directory / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
