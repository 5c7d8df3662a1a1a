"""Time, in one place, so that tests and the retry policy can inject it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
Monotonic = Callable[[], float]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as HCSS writes dates."""
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


class Every:
    """Says yes at most once per `seconds` of a monotonic clock: for checks (has a file changed?)
    that are cheap once but not on every request."""

    def __init__(self, seconds: float, monotonic: Monotonic = time.monotonic) -> None:
        self.seconds = seconds
        self._now = monotonic
        self._next = float("-inf")

    def due(self) -> bool:
        """True when the last yes is at least `seconds` old (and the first time)."""
        now = self._now()
        if now < self._next:
            return False
        self._next = now + self.seconds
        return True
