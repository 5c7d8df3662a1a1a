"""The probe loop every worker runs beside its deliveries: a pass of url probes every so often.

A pass (`hookyard.services.probes.UrlProbes.run_once`, wired by the CLI) keeps held deliveries
within their bounds and probes the Stopped urls that are due. The loop runs as a side task of the
worker (`supervision.SideTask`): a pass that fails is logged once, then counted, and run again
after the backoff (`supervision.every`), so probing never stops deliveries; a loop that cannot be
kept running stops the worker like its other side tasks do.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from hookyard.delivery import supervision

log = logging.getLogger("hookyard.probes")
MAX_PERIOD_SECONDS = 60.0
KIND = "probing Stopped urls"


class Passes(Protocol):
    """One pass at a time over the urls to probe (`UrlProbes`)."""

    @property
    def interval_seconds(self) -> float:
        """How often a Stopped url is probed."""
        ...

    async def run_once(self) -> object:
        """Probe the urls that are due."""
        ...


class Probing:
    """Runs `probes` every `period` seconds (by default their interval, at most a minute)."""

    def __init__(
        self,
        probes: Passes,
        *,
        period: float | None = None,
        backoff: supervision.Backoff = supervision.Backoff(),
    ) -> None:
        self._probes = probes
        self.period = min(MAX_PERIOD_SECONDS, probes.interval_seconds) if period is None else period
        self._backoff = backoff
        self._repeats = supervision.Repeats(log)

    @property
    def failures(self) -> int:
        """Passes failed in a row until now."""
        return self._repeats.count(KIND)

    async def run(self, stop: asyncio.Event) -> None:
        """Probe every period until `stop` is set."""
        await supervision.every(
            self.period, self._probes.run_once, stop, self._repeats, KIND, backoff=self._backoff
        )
