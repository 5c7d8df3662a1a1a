"""A small in-process cache whose entries expire after a fixed time.

It exists so that the request path can skip a database read or a signature check it repeats
hundreds of times a second, while a change made in this process takes effect at once and a change
made by another process takes effect within the time to live.

`forget` is the in-process half: the writer calls it after its change is committed. A reader that
looked the value up before that commit could otherwise put the old value back after `forget`; so a
reader takes a `stamp()` before it reads and passes it to `put`, which keeps the value only if
nothing was forgotten in between.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Generic, TypeVar

from hookyard.clock import Monotonic

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """At most `max_entries` values, each kept for `seconds` (0 keeps nothing)."""

    def __init__(
        self, seconds: float, *, max_entries: int = 10_000, monotonic: Monotonic = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._max = max_entries
        self._now = monotonic
        self._entries: dict[K, tuple[float, V]] = {}
        self._forgets = 0

    def get(self, key: K) -> tuple[bool, V | None]:
        """(True, value) for a live entry, (False, None) otherwise."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        expires, value = entry
        if expires <= self._now():
            del self._entries[key]
            return False, None
        return True, value

    def stamp(self) -> int:
        """Take before reading the value that will be `put` (see the module docstring)."""
        return self._forgets

    def put(self, key: K, value: V, stamp: int, *, seconds: float | None = None) -> None:
        """Keep `value` unless something was forgotten since `stamp`; `seconds` may shorten it."""
        lifetime = self.seconds if seconds is None else min(seconds, self.seconds)
        if lifetime <= 0 or stamp != self._forgets:
            return
        if len(self._entries) >= self._max:
            self._evict()
        self._entries[key] = (self._now() + lifetime, value)

    def forget(self, key: K) -> None:
        """Drop `key` and refuse every `put` from a read that began before now."""
        self._forgets += 1
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._forgets += 1
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self) -> None:
        now = self._now()
        for key in [key for key, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
        while len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]
