"""A monotonic clock that moves only when a test moves it."""

from __future__ import annotations


class FakeClock:
    """Callable like `time.monotonic`; advance it with `now += seconds`."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
