"""Throttling of failed client authentications at the token endpoint, per client id and per
source address.

Each key (a client id, a source address) keeps the times of its failures inside a sliding window.
Once a key holds `failures` of them, every attempt with that key is refused until the oldest
leaves the window; the refusal says how long to wait. Unknown client ids are counted exactly like
known ones, so the throttle says nothing about which ids exist. Success does not clear a count
(else one valid credential would reset an attacker's budget).

State is in memory, per process, and bounded (`max_keys` per window, least recently failed
evicted first).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from hookyard import errors

Monotonic = Callable[[], float]


@dataclass(frozen=True)
class Limit:
    """At most `failures` failed attempts per key within `window_seconds`."""

    failures: int
    window_seconds: float


class _Window:
    def __init__(self, limit: Limit, max_keys: int) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, key: str, now: float) -> float:
        """Seconds until `key` may try again (0 when it may now)."""
        times = self._failures.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.limit.window_seconds:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0.0
        if len(times) < self.limit.failures:
            return 0.0
        return min(self.limit.window_seconds, times[0] + self.limit.window_seconds - now)

    def failed(self, key: str, now: float) -> None:
        times = self._failures.setdefault(key, deque(maxlen=self.limit.failures))
        times.append(now)
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)


class FailureThrottle:
    """Refuses token requests for a client id or a source address that failed too often."""

    def __init__(
        self,
        *,
        per_client: Limit = Limit(10, 300.0),
        per_address: Limit = Limit(30, 300.0),
        max_keys: int = 100_000,
        now: Monotonic = time.monotonic,
    ) -> None:
        self._clients = _Window(per_client, max_keys)
        self._addresses = _Window(per_address, max_keys)
        self._now = now

    def check(self, client_id: str, address: str | None) -> None:
        """RateLimited (with the seconds to wait) when either key is over its limit."""
        now = self._now()
        wait = self._clients.wait(client_id, now)
        if address is not None:
            wait = max(wait, self._addresses.wait(address, now))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise errors.RateLimited(
                "Too many failed client authentications for this client or from this address; "
                f"retry after {seconds} seconds with the right client id and secret.",
                seconds,
            )

    def failed(self, client_id: str, address: str | None) -> None:
        """Count one failed authentication against both keys."""
        now = self._now()
        self._clients.failed(client_id, now)
        if address is not None:
            self._addresses.failed(address, now)
