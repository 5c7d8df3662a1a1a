"""Hookyard's Prometheus counters, kept where every layer may count (no I/O here).

They live in prometheus-client's default registry. With `PROMETHEUS_MULTIPROC_DIR` set (before
the process starts) each process writes them to files in that directory, and `/metrics` of any
API process adds up every process of the machine (`hookyard.api.metrics`). Figures that are the
store's state (queue depth, Stopped records, in-flight per host) are read at scrape time instead.
"""

from __future__ import annotations

from prometheus_client import Counter

CHALLENGES = Counter(
    "hookyard_challenges", "Challenges sent to callback urls, by result", ["result"]
)
TOKEN_REQUESTS = Counter(
    "hookyard_token_requests",
    "Token requests by result: issued, or the OAuth error (throttled: answered 429)",
    ["result"],
)
EVENTS_INGESTED = Counter(
    "hookyard_events_ingested", "Events accepted (new, not repeats), by product", ["product"]
)
DELIVERIES_CREATED = Counter(
    "hookyard_deliveries_created",
    "Deliveries fanned out from accepted events, by product",
    ["product"],
)
OPERATIONAL_EVENTS = Counter(
    "hookyard_operational_events", "Operational events raised, by type", ["type"]
)


def challenge(passed: bool) -> None:
    CHALLENGES.labels("passed" if passed else "failed").inc()


def token_request(result: str) -> None:
    TOKEN_REQUESTS.labels(result).inc()


def ingested(product: str, events: int, deliveries: int) -> None:
    if events:
        EVENTS_INGESTED.labels(product).inc(events)
    if deliveries:
        DELIVERIES_CREATED.labels(product).inc(deliveries)
