"""A small in-process cache whose entries expire after a fixed time.

It exists so that the request path can skip a database read or a signature check it repeats
hundreds of times a second, while a change made in this process takes effect at once and a change
made by another process takes effect within the time to live.

`forget` is the in-process half: the writer calls it after its change is committed. A reader that
looked the value up before that commit could otherwise put the old value back after `forget`; so a
reader takes a `stamp()` before it reads and passes it to `put`, which keeps the value only if
nothing was forgotten in between.

`fetch` reads through the cache with one read in flight per key: when an entry expires under
load, the requests that miss it together share one database read instead of each making one.
A request that comes after a `forget` never shares a read that began before it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
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
        self._loading: dict[K, asyncio.Future[V]] = {}

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
        self._loading.pop(key, None)

    def clear(self) -> None:
        self._forgets += 1
        self._entries.clear()
        self._loading.clear()

    async def fetch(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The live entry of `key`, or `load()`'s value (kept as `put` keeps it); callers that
        miss together while a load is in flight share it."""
        found, value = self.get(key)
        if found:
            return value  # type: ignore[return-value]  # a live entry holds a V
        shared = self._loading.get(key)
        if shared is not None:
            return await asyncio.shield(shared)
        stamp = self.stamp()
        loading: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = loading
        try:
            value = await load()
        except BaseException as exc:
            loading.set_exception(exc)
            loading.exception()  # retrieved: sharing callers, if any, raise it themselves
            raise
        finally:
            if self._loading.get(key) is loading:
                del self._loading[key]
        loading.set_result(value)
        self.put(key, value, stamp)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self) -> None:
        now = self._now()
        for key in [key for key, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
        while len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]
