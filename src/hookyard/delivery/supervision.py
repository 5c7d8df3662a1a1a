"""Keeping the worker's loops alive: capped exponential backoff, one log line per kind of failure.

A loop that fails waits `Backoff.delay(n)` after its n-th failure in a row (0.1 s doubling to
30 s). `Repeats` logs the first failure of a kind with its reason and then only a count, once a
minute and when it recovers, so an outage or a bad record never floods the log. `keep_running`
runs a side task for as long as the worker runs: a task that raises or ends is started again after
the backoff; the database being unreachable is waited out for as long as it lasts, and any other
failure repeated `give_up_after` times in a row without a healthy minute in between gives up
(`SideTaskFailed`), so the process exits non-zero and its supervisor starts a fresh one.

Side tasks beside the deliveries (`SideTask`: url probing, pruning) are kept running the same way,
and are told to stop with the worker: `every` runs their passes, a failed pass counted like any
other failure and run again after the backoff, until the worker stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hookyard import clock, errors

HEALTHY_SECONDS = 60.0
REPORT_SECONDS = 60.0


class SideTaskFailed(Exception):
    """A side task of the worker kept failing; the worker stops and the process exits non-zero."""


@dataclass(frozen=True)
class Backoff:
    """Capped exponential delays."""

    first: float = 0.1
    cap: float = 30.0
    factor: float = 2.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failure in a row (1-based)."""
        if failures <= 0:
            return 0.0
        return min(self.cap, self.first * self.factor ** min(failures - 1, 64))


@dataclass(frozen=True)
class SideTask:
    """A task run beside the deliveries for as long as they run (`Worker.run`): `run(stop)`
    returns once `stop` is set, and a run that raises or returns before is started again."""

    name: str
    run: Callable[[asyncio.Event], Awaitable[None]]


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says the database is unreachable (waited out, never given up on)."""
    return isinstance(exc, errors.Unavailable | ConnectionError | TimeoutError)


class Repeats:
    """Logs a kind of failure once, then how many more times it happened."""

    def __init__(self, log: logging.Logger, monotonic: clock.Monotonic = time.monotonic) -> None:
        self._log = log
        self._monotonic = monotonic
        self._counts: dict[str, int] = {}
        self._reported: dict[str, float] = {}

    def failed(self, kind: str, what: str, exc: BaseException) -> int:
        """Count a failure of `kind`; the first is logged with its reason. Returns the count."""
        count = self._counts.get(kind, 0) + 1
        self._counts[kind] = count
        now = self._monotonic()
        if count == 1:
            self._reported[kind] = now
            self._log.error("%s: %s", what, _reason(exc), exc_info=not _expected(exc))
        elif now - self._reported.get(kind, now) >= REPORT_SECONDS:
            self._reported[kind] = now
            self._log.error("%s: still failing, %d times in a row: %s", what, count, _reason(exc))
        return count

    def recovered(self, kind: str, what: str) -> None:
        """`kind` worked again; says so when it had failed."""
        count = self._counts.pop(kind, 0)
        self._reported.pop(kind, None)
        if count:
            self._log.warning("%s: working again after %d failures", what, count)

    def count(self, kind: str) -> int:
        return self._counts.get(kind, 0)


def _expected(exc: BaseException) -> bool:
    return isinstance(exc, errors.HookyardError) or is_outage(exc)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


async def keep_running(
    name: str,
    run: Callable[[], Awaitable[None]],
    repeats: Repeats,
    *,
    backoff: Backoff = Backoff(),
    give_up_after: int = 5,
    monotonic: clock.Monotonic = time.monotonic,
    stop: asyncio.Event | None = None,
) -> None:
    """Run `run()` again whenever it raises or returns, until cancelled (see the module doc) or,
    given `stop`, until it is set (then a run that returns has ended as it should)."""
    failures = 0
    while stop is None or not stop.is_set():
        started = monotonic()
        try:
            await run()
            if stop is not None and stop.is_set():
                return
            raise RuntimeError(f"the {name} ended on its own")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if monotonic() - started >= HEALTHY_SECONDS:
                failures = 0
                repeats.recovered(name, f"the {name}")
            failures += 1
            repeats.failed(name, f"the {name} stopped; restarting it", exc)
            if failures >= give_up_after and not is_outage(exc):
                raise SideTaskFailed(f"the {name} failed {failures} times in a row") from exc
            await _pause(backoff.delay(failures), stop)


async def every(
    period: float,
    run_pass: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    repeats: Repeats,
    what: str,
    *,
    backoff: Backoff = Backoff(),
) -> None:
    """Run a pass every `period` seconds until `stop` is set; the pass under way then finishes.
    A pass that raises is counted under `what` (`Repeats`: logged once with its reason, then a
    count, and its recovery) and run again after the backoff, never later than a period."""
    failures = 0
    while not stop.is_set():
        try:
            await run_pass()
        except Exception as exc:
            failures += 1
            repeats.failed(what, f"{what} failed", exc)
            await _pause(min(period, backoff.delay(failures)), stop)
            continue
        failures = 0
        repeats.recovered(what, what)
        await _pause(period, stop)


async def _pause(seconds: float, stop: asyncio.Event | None) -> None:
    """Sleep `seconds`, or less when `stop` is set meanwhile."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
