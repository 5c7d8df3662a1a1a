"""Self-healing urls: while records are Stopped, probe their url with a challenge on a slow
schedule (`hookyard.probe_schedule`); when a probe passes, raise `subscription.recovered` and,
for a url whose client chose `autoReactivate`, make its records Active and release their held
deliveries in publish order. Also keeps held deliveries within their cap and retention.

The probe goes through the same `Prober` (and so the same address guard) as every challenge.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from hookyard import clock
from hookyard.probe_schedule import ProbeSchedule
from hookyard.services.subscriptions import Prober
from hookyard.store import Store
from hookyard.store.stopped import StoppedUrl

log = logging.getLogger("hookyard.probes")
RECOVERED = "subscription.recovered"

Announce = Callable[[StoppedUrl, bool, int], Awaitable[None]]
"""Called after a probe passed: the url, whether it was reactivated, deliveries released."""


@dataclass(frozen=True)
class HeldBounds:
    cap: int = 10_000
    retention: timedelta = timedelta(hours=72)


@dataclass
class ProbeReport:
    probed: int = 0
    recovered: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    released: int = 0
    dropped: dict[str, int] = field(default_factory=dict)


async def log_only(url: StoppedUrl, reactivated: bool, released: int) -> None:
    """The default announcement: one log line (the operational event's TODO until ops' events
    are wired: see `cli.worker`)."""
    log.info(
        "%s: %s answers its challenge again%s",
        RECOVERED,
        url.callback_url,
        f"; reactivated, {released} held deliveries released" if reactivated else "",
        extra={"event_type": RECOVERED, "client_id": url.client_id, "released": released},
    )


class UrlProbes:
    """One pass at a time: `run_once` probes the urls that are due."""

    def __init__(
        self,
        store: Store,
        prober: Prober,
        schedule: ProbeSchedule,
        *,
        held: HeldBounds | None = None,
        announce: Announce = log_only,
        now: clock.Clock = clock.utcnow,
    ) -> None:
        self._store = store
        self._prober = prober
        self._schedule = schedule
        self._held = held or HeldBounds()
        self._announce = announce
        self._now = now

    @property
    def interval_seconds(self) -> float:
        return self._schedule.interval.total_seconds()

    async def run_once(self) -> ProbeReport:
        """Bound the held deliveries, then probe every url that is due."""
        report = ProbeReport()
        now = self._now()
        report.dropped = await self._store.stopped.bound_held(
            self._held.cap, now - self._held.retention
        )
        for record_id, count in report.dropped.items():
            log.warning(
                "record %s is Stopped: dropped its %d oldest held deliveries (cap %d, %s)",
                record_id,
                count,
                self._held.cap,
                self._held.retention,
                extra={"subscription_id": record_id, "dropped": count},
            )
        for url in await self._store.stopped.urls():
            if self._schedule.due(url.stopped_at, url.last_probe_at, now):
                await self._probe(url, report)
        return report

    async def _probe(self, url: StoppedUrl, report: ProbeReport) -> None:
        if not await self._store.stopped.claim_probe(url, self._now()):
            return
        report.probed += 1
        outcome = await self._prober.challenge(url.callback_url)
        if not outcome.passed:
            log.info(
                "probe of Stopped url %s failed: %s",
                url.callback_url,
                outcome.detail,
                extra={"client_id": url.client_id},
            )
            return
        report.recovered.append(url.callback_url)
        released = 0
        if url.auto_reactivate:
            released = await self._store.stopped.reactivate(url.record_ids, self._now())
            report.reactivated.append(url.callback_url)
            report.released += released
        await self._announce(url, url.auto_reactivate, released)
