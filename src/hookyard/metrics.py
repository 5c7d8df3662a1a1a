"""Hookyard's Prometheus counters, kept where every layer may count (no I/O here).

They live in prometheus-client's default registry. With `PROMETHEUS_MULTIPROC_DIR` set (before
the process starts) each process writes them to files in that directory, and `/metrics` of any
API process adds up every process of the machine (`hookyard.api.metrics`). Figures that are the
store's state (queue depth, Stopped records, in-flight per host) are read at scrape time instead.
"""

from __future__ import annotations

from collections.abc import Mapping

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
DELIVERY_RESULTS = Counter(
    "hookyard_delivery_results",
    "Delivery tries recorded, by product and what became of the delivery: succeeded, retrying "
    "(failed, another try is due), exhausted (failed, no tries left), gone (410 Gone: given up "
    "at once)",
    ["product", "outcome"],
)
SUCCEEDED = "succeeded"
RETRYING = "retrying"
EXHAUSTED = "exhausted"
GONE = "gone"
RESULTS = (SUCCEEDED, RETRYING, EXHAUSTED, GONE)


def challenge(passed: bool) -> None:
    CHALLENGES.labels("passed" if passed else "failed").inc()


def token_request(result: str) -> None:
    TOKEN_REQUESTS.labels(result).inc()


def results(counts: Mapping[tuple[str, str], int]) -> None:
    """Count recorded tries: {(product, one of RESULTS): how many}."""
    for (product, outcome), count in counts.items():
        DELIVERY_RESULTS.labels(product, outcome).inc(count)


def ingested(product: str, events: int, deliveries: int) -> None:
    if events:
        EVENTS_INGESTED.labels(product).inc(events)
    if deliveries:
        DELIVERIES_CREATED.labels(product).inc(deliveries)
