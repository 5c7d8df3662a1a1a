"""`/metrics` in the Prometheus text format, behind a bearer token (`HOOKYARD_METRICS_TOKEN`).

Counters come from prometheus-client's registry: this process's, or with
`PROMETHEUS_MULTIPROC_DIR` every process of the machine that writes to that directory (API and
worker processes alike). The queue's figures are read from the store at scrape time, so they are
the same whichever process is scraped.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from hookyard import clock, errors
from hookyard.api.context import context
from hookyard.services.health import QueueStats

router = APIRouter()
MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"


class QueueCollector(Collector):
    """The store's figures of one scrape, as gauges."""

    def __init__(self, stats: QueueStats, now: datetime) -> None:
        self._stats = stats
        self._now = now

    def collect(self) -> Iterator[Metric]:
        stats = self._stats
        deliveries = GaugeMetricFamily(
            "hookyard_deliveries",
            "Deliveries in the store by product and state (succeeded, failed: the outcomes)",
            labels=["product", "state"],
        )
        for (product, state), count in sorted(stats.deliveries.items()):
            deliveries.add_metric([product, state], count)
        yield deliveries
        records = GaugeMetricFamily(
            "hookyard_subscriptions",
            "Subscription records by product and status (Stopped: stopped records)",
            labels=["product", "status"],
        )
        for (product, status), count in sorted(stats.subscriptions.items()):
            records.add_metric([product, status], count)
        yield records
        yield GaugeMetricFamily(
            "hookyard_queue_due", "Pending deliveries due now (the queue depth)", value=stats.due
        )
        age = (self._now - stats.oldest_due).total_seconds() if stats.oldest_due else 0.0
        yield GaugeMetricFamily(
            "hookyard_queue_oldest_due_seconds",
            "How long the oldest due delivery has waited past its due time (0: none due)",
            value=max(0.0, age),
        )
        hosts = GaugeMetricFamily(
            "hookyard_in_flight",
            "Deliveries being tried, per callback host (the busiest hosts only)",
            labels=["host"],
        )
        for host, count in stats.in_flight_hosts:
            hosts.add_metric([host], count)
        yield hosts


def process_metrics() -> bytes:
    """The counters: every process's with PROMETHEUS_MULTIPROC_DIR, else this process's."""
    if os.environ.get(MULTIPROC):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _authorise(request: Request, token: str) -> None:
    if not token:
        raise errors.NotFound(
            "Metrics are off; set HOOKYARD_METRICS_TOKEN and scrape /metrics with that bearer "
            "token."
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        raise errors.Unauthenticated(
            "Scrape /metrics with the header Authorization: Bearer <HOOKYARD_METRICS_TOKEN>."
        )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format; see docs/operations.md for each metric."""
    wired = context(request)
    _authorise(request, wired.settings.metrics_token)
    now = clock.utcnow()
    stats = await wired.health.queue_stats(now, top_hosts=wired.settings.metrics_top_hosts)
    store_registry = CollectorRegistry(auto_describe=False)
    store_registry.register(QueueCollector(stats, now))
    body = process_metrics() + generate_latest(store_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
