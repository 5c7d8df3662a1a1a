"""When to probe a Stopped record's url again. Pure; nothing here sleeps or reads a clock.

While a record is Stopped, Hookyard sends its url a challenge every `interval` (default an
hour), starting one interval after it was Stopped, for `window` (default 72 hours); after that it
gives up until the record is reactivated by hand. A probe that fails only waits for the next slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ProbeSchedule:
    """How often, and for how long, a Stopped record is probed."""

    interval: timedelta = timedelta(hours=1)
    window: timedelta = timedelta(hours=72)

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0):
            raise ValueError("the probe interval must be positive")
        if self.window < timedelta(0):
            raise ValueError("the probe window must not be negative")

    def next_probe(self, stopped_at: datetime, last_probe_at: datetime | None) -> datetime | None:
        """When the next probe is due, or None when the window has closed."""
        start = stopped_at if last_probe_at is None or last_probe_at < stopped_at else last_probe_at
        due = start + self.interval
        return due if due <= stopped_at + self.window else None

    def due(self, stopped_at: datetime, last_probe_at: datetime | None, now: datetime) -> bool:
        """Whether a probe should go now."""
        moment = self.next_probe(stopped_at, last_probe_at)
        return moment is not None and moment <= now

    @property
    def most_probes(self) -> int:
        """The most probes one Stopped period can get."""
        return int(self.window / self.interval)
