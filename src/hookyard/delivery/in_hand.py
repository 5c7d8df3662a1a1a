"""What a worker holds: the deliveries it claimed and has not tried to the end, per callback host.

A claimed delivery is taken into hand, queued behind its host's lanes (at most `lanes_per_host`
senders per host, each sending the host's deliveries in turn), started when a lane takes it
next, and done when its try ended, however it ended. A delivery whose lease ran out while its try
went on can be claimed again by the same worker under a new lease, so a try is known by its
delivery id and lease together, and both tries may be in hand at once.

Apart from what is in hand, the worker keeps a lease per delivery until the try made under it is
recorded (`leases`, the ones to renew: a try done but not yet recorded still needs its lease),
and the leases of tries it gave up untried or cut short at stop (`abandoned`, to return: one
per delivery, its latest claim's when that claim's try was given up, since an older lease has
run out and the database no longer holds it).

Kept true by every method, whatever the order of calls: the count per host is the number of
tries in hand for that host, and no host is counted at zero; a try is in hand at most once, and
once done it is counted nowhere; a try waits in its host's queue only while in hand; a host has
at most `lanes_per_host` lanes, and tries wait for a host only while it has a lane open, unless
its lanes were cut short (cancelled at stop: `abandon_waiting` then gives them up). A call that
would break one of these (taking a try already in hand, finishing one not in hand, closing a
lane not open) raises and changes nothing.
"""

from __future__ import annotations

from collections import Counter, deque

from hookyard.store.queue import Claimed

__all__ = ["InHand"]

Key = tuple[str, str]
"""(delivery id, lease): one try."""


class InHand:
    """The tries a worker holds, queued per host behind its lanes, and the leases it owes."""

    def __init__(self, lanes_per_host: int) -> None:
        if lanes_per_host < 1:
            raise ValueError("lanes_per_host must be at least 1")
        self._lanes_per_host = lanes_per_host
        self._held: dict[Key, Claimed] = {}
        self._per_host: Counter[str] = Counter()
        self._waiting: dict[str, deque[Claimed]] = {}
        self._lanes: Counter[str] = Counter()
        self._leased: dict[str, str] = {}
        self._abandoned: dict[str, str] = {}

    # what is held

    def __len__(self) -> int:
        """How many tries are in hand, for every host."""
        return len(self._held)

    def per_host(self) -> dict[str, int]:
        """Tries in hand per callback host (hosts with none left out)."""
        return dict(self._per_host)

    def busiest(self) -> int:
        """The most tries in hand for one host (0 when nothing is)."""
        return max(self._per_host.values(), default=0)

    def lanes(self, host: str) -> int:
        """How many lanes `host` has open."""
        return self._lanes[host]

    def waiting(self, host: str) -> int:
        """How many of `host`'s tries wait for a lane to take them."""
        return len(self._waiting.get(host, ()))

    # a try's way through

    def take(self, job: Claimed) -> bool:
        """Hold a claimed delivery, queued behind its host's lanes. True when that opened a lane
        for its host (the host had fewer than `lanes_per_host`): the caller starts it, and
        closes it with `close_lane` however it ends."""
        key = (job.id, job.lease)
        if key in self._held:
            raise ValueError(f"delivery {job.id} is already in hand under lease {job.lease!r}")
        self._held[key] = job
        self._per_host[job.host] += 1
        self._leased[job.id] = job.lease
        self._waiting.setdefault(job.host, deque()).append(job)
        if self._lanes[job.host] >= self._lanes_per_host:
            return False
        self._lanes[job.host] += 1
        return True

    def next(self, host: str) -> Claimed | None:
        """The try a lane of `host` sends next (still in hand until `done`), or None when none
        waits (the lane ends, and calls `close_lane`)."""
        waiting = self._waiting.get(host)
        if not waiting:
            return None
        return waiting.popleft()

    def close_lane(self, host: str) -> None:
        """A lane of `host` ended (none waited, or it was cancelled)."""
        if self._lanes[host] <= 0:
            raise ValueError(f"host {host!r} has no lane open")
        self._lanes[host] -= 1
        if self._lanes[host] == 0:
            del self._lanes[host]
            if host in self._waiting and not self._waiting[host]:
                del self._waiting[host]

    def done(self, job: Claimed) -> int:
        """The try of `job` ended, whichever way: it is no longer in hand. Returns how many of
        its host's tries still are."""
        key = (job.id, job.lease)
        if key not in self._held:
            raise KeyError(f"delivery {job.id} is not in hand under lease {job.lease!r}")
        del self._held[key]
        self._per_host[job.host] -= 1
        remaining = self._per_host[job.host]
        if remaining == 0:
            del self._per_host[job.host]
        return remaining

    def recorded(self, delivery_id: str, lease: str) -> None:
        """The try made under `lease` was recorded (or given up on): its lease is no longer
        renewed. A later claim of the same delivery keeps its own."""
        if self._leased.get(delivery_id) == lease:
            del self._leased[delivery_id]

    def leases(self) -> dict[str, str]:
        """Delivery id -> lease of every claim whose try is not recorded yet: the ones to renew."""
        return dict(self._leased)

    # giving back

    def abandon(self, job: Claimed) -> None:
        """The try of `job` was cut short (cancelled at stop): its lease is to be returned, unless
        the delivery was claimed again since (that claim's lease is the one the database holds,
        and it is returned, if need be, with that claim's try). The try is still `done`."""
        latest = self._leased.get(job.id)
        if latest is None or latest == job.lease:
            self._abandoned[job.id] = job.lease

    def abandon_waiting(self) -> int:
        """At stop, once the lanes ended: every try still waiting for a lane is given up untried,
        out of hand and its lease to be returned. Returns how many were."""
        given_up = 0
        for waiting in self._waiting.values():
            while waiting:
                job = waiting.popleft()
                self.abandon(job)
                self.done(job)
                given_up += 1
        self._waiting.clear()
        return given_up

    def abandoned(self) -> dict[str, str]:
        """Delivery id -> lease of every try given up untried or cut short: the ones to return."""
        return dict(self._abandoned)
