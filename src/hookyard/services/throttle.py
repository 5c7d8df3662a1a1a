"""Throttling of failed client authentications at the token endpoint, shared by every API process
(the count is in the database: `store.auth_failures`).

Failures are counted per client id and source address together, so a stranger failing from
another address never slows the client's own address down; and per source address across client
ids, so one address cannot guess through many ids. A key may fail `failures` times in its window
for free; each failure beyond that blocks it for twice as long as the one before (`first_wait`,
1 s by default, then 2 s, 4 s, ... at most the window), so a mistyped secret costs a second and a
guesser a slowdown that doubles. Unknown client ids are counted exactly like known ones, so the
throttle says nothing about which ids exist. Success does not clear a count (else one valid
credential would reset an attacker's budget for its address); a window that passes does.

Without an address (an in-process caller) only the client id is counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hookyard import clock, errors
from hookyard.store.auth_failures import AuthFailureRepository, Counted, Key, key

EVERY_CLIENT = "*"
NO_ADDRESS = ""


@dataclass(frozen=True)
class Limit:
    """`failures` free failures per key within `window_seconds`, then a wait of `first_wait`
    seconds that doubles with each further failure (never longer than the window)."""

    failures: int
    window_seconds: float
    first_wait: float = 1.0

    def block_for(self, failures: int) -> float:
        """Seconds a key that has failed `failures` times in its window must wait."""
        if failures < self.failures:
            return 0.0
        doublings = min(failures - self.failures, 64)
        return min(self.window_seconds, self.first_wait * 2.0**doublings)


class FailureThrottle:
    """Refuses token requests for a client id from an address, or for an address, that failed
    too often."""

    def __init__(
        self,
        failures: AuthFailureRepository,
        *,
        per_client: Limit = Limit(10, 300.0),
        per_address: Limit = Limit(30, 300.0),
        now: clock.Clock = clock.utcnow,
    ) -> None:
        self._failures = failures
        self._per_client = per_client
        self._per_address = per_address
        self._now = now

    async def check(self, client_id: str, address: str | None) -> None:
        """RateLimited (with the seconds to wait) while either key is blocked."""
        until = await self._failures.blocked_until(_keys(client_id, address))
        wait = (until - self._now()).total_seconds() if until is not None else 0.0
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise errors.RateLimited(
                "Too many failed client authentications for this client or from this address; "
                f"retry after {seconds} seconds with the right client id and secret.",
                seconds,
            )

    async def failed(self, client_id: str, address: str | None) -> None:
        """Count one failed authentication against both keys (one transaction)."""
        pair, *everyone = _keys(client_id, address)
        counts = [_counted(pair, self._per_client)]
        counts += [_counted(counted, self._per_address) for counted in everyone]
        await self._failures.failed(counts, now=self._now())


def _counted(counted: Key, limit: Limit) -> Counted:
    return Counted(counted, limit.window_seconds, limit.block_for)


def _keys(client_id: str, address: str | None) -> list[Key]:
    """The client id at the address, then (with an address) every client id at the address."""
    if address is None:
        return [key(client_id, NO_ADDRESS)]
    return [key(client_id, address), key(EVERY_CLIENT, address)]
