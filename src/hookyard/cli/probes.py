"""The probe loop every worker runs beside its deliveries: Stopped urls probed on their schedule,
held deliveries kept within their bounds (`hookyard.services.probes`).

A passing probe raises `subscription.recovered` as an operational event (a log line, and a
signed delivery to the operator's and the client's alert urls, `services.alerts`), and
`subscription.reactivated` when it made the url's records Active again (`autoReactivate`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from hookyard.config import Settings

if TYPE_CHECKING:
    from hookyard.delivery.netguard import Guard
    from hookyard.services.probes import Announce, UrlProbes
    from hookyard.store import Store

log = logging.getLogger("hookyard.probes")
MAX_PERIOD_SECONDS = 60.0


def url_probes(settings: Settings, store: Store, guard: Guard) -> UrlProbes:
    """The probes of this deployment: its schedule, held bounds and challenge timeout."""
    from hookyard.delivery.prober import Prober
    from hookyard.probe_schedule import ProbeSchedule
    from hookyard.services.probes import HeldBounds, UrlProbes

    schedule = ProbeSchedule(
        timedelta(seconds=settings.probe_interval_seconds),
        timedelta(hours=settings.probe_window_hours),
    )
    held = HeldBounds(settings.held_cap_per_record, timedelta(hours=settings.held_retention_hours))
    prober = Prober(guard, timeout=settings.challenge_timeout_seconds)
    return UrlProbes(store, prober, schedule, held=held, announce=_operational(store))


def _operational(store: Store) -> Announce:
    from hookyard.services import alerts

    return alerts.OperationalEvents(store).url_recovered


async def run(probes: UrlProbes, stop: asyncio.Event, period: float | None = None) -> None:
    """Run a pass every `period` seconds (at most a minute) until `stop` is set. A pass that
    fails is logged and the next one runs as usual: probing never stops deliveries."""
    wait = period if period is not None else min(MAX_PERIOD_SECONDS, probes.interval_seconds)
    failures = 0
    while not stop.is_set():
        try:
            await probes.run_once()
            failures = 0
        except Exception as exc:  # any failure of a pass must not end the worker
            failures += 1
            if failures == 1:
                log.warning("probing Stopped urls failed (%s); trying again", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
