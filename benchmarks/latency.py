"""Scenarios 2, 3 and 4: publish-to-receipt latency, one event to many records, one dead host.

Latency is measured from the moment the publisher sends an event to the receiver's first receipt
of each of its deliveries (wall clocks of two processes on one machine).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from benchmarks import databases, payloads, procs
from benchmarks.bench import Bench
from benchmarks.hookyard_side import Deployment, Publisher, Tenant, provision
from benchmarks.receiver import ReceiverProcess
from benchmarks.results import Run, latencies_ms, latency_figures, percentile, rate


def hookyard(bench: Bench, dialect: str) -> Run:
    """A steady `latency_rate` events per second for `latency_seconds`, one record each."""
    sizes = bench.sizes
    count = int(sizes.latency_rate * sizes.latency_seconds)
    place = bench.place(f"latency-{dialect}")
    with (
        databases.fresh(dialect, place) as url,
        ReceiverProcess(healthy=1) as receiver,
        Deployment.start(url, place) as deployment,
    ):
        provision(deployment, receiver.urls(), 1)
        publisher = Publisher(deployment)
        asyncio.run(publisher.steady(count, sizes.latency_rate))
        stats = deployment.wait_delivered(receiver, count, sizes.timeout(count))
        receipts = receiver.first_receipts(place)
    run = Run("latency", "hookyard", dialect, count, stats["healthy_distinct"], stats["duplicates"])
    run.figures.update(latency_figures(latencies_ms(receipts, publisher.published)))
    accepted = _accepted_ms(publisher)
    run.figures["accept_p50_ms"] = percentile(accepted, 0.50)
    run.figures["accept_p99_ms"] = percentile(accepted, 0.99)
    return bench.report.add(run)


def ceiling(bench: Bench) -> Run:
    """The same rate straight from Hookyard's HTTP client: the floor of any latency."""
    sizes = bench.sizes
    count = int(sizes.latency_rate * sizes.latency_seconds)
    place = bench.place("latency-ceiling")
    out = place / "latency.json"
    with ReceiverProcess(healthy=1) as receiver:
        command = [
            sys.executable,
            "-m",
            "benchmarks.ceiling",
            f"--out={out}",
            f"--count={count}",
            "--concurrency=8",
            f"--rate={sizes.latency_rate}",
            *receiver.urls(),
        ]
        subprocess.run(
            command,
            check=True,
            timeout=sizes.timeout(count) + sizes.latency_seconds,
            cwd=procs.ROOT,
        )
        stats = receiver.wait_distinct(count, 30)
        receipts = receiver.first_receipts(place)
    published = {int(seq): at for seq, at in json.loads(out.read_text())["published"].items()}
    run = Run("latency", "ceiling", "-", count, stats["healthy_distinct"], stats["duplicates"])
    run.figures.update(latency_figures(latencies_ms(receipts, published)))
    return bench.report.add(run)


def fan_out(bench: Bench, dialect: str, hosts: int = 8) -> Run:
    """One event matching `fanout_records` records: time to the 202 and to the last receipt."""
    records = bench.sizes.fanout_records
    place = bench.place(f"fanout-{dialect}")
    with (
        databases.fresh(dialect, place) as url,
        ReceiverProcess(healthy=hosts) as receiver,
        Deployment.start(url, place) as deployment,
    ):
        provision(deployment, receiver.urls(), records)
        publisher = Publisher(deployment)
        asyncio.run(publisher.steady(1, 1.0))
        stats = deployment.wait_delivered(receiver, records, bench.sizes.timeout(records))
    sent, accepted = publisher.published[0], publisher.accepted_at[0]
    run = Run(
        "fan-out", "hookyard", dialect, records, stats["healthy_distinct"], stats["duplicates"]
    )
    run.figures["accepted_s"] = accepted - sent
    run.figures["last_receipt_s"] = stats["last_new_at"] - sent
    run.figures["deliveries_per_s"] = rate(records, sent, stats["last_new_at"])
    return bench.report.add(run)


def isolation(bench: Bench, dialect: str, blackhole: bool) -> Run:
    """`isolation_hosts` healthy hosts, with or without one more that never answers."""
    sizes = bench.sizes
    hosts = sizes.isolation_hosts
    events = int(sizes.isolation_rate * sizes.isolation_seconds)
    label = "with blackhole" if blackhole else "healthy only"
    place = bench.place(f"isolation-{dialect}-{int(blackhole)}")
    with (
        databases.fresh(dialect, place) as url,
        ReceiverProcess(hosts, int(blackhole)) as receiver,
        Deployment.start(url, place) as deployment,
    ):
        urls = receiver.urls() + receiver.blackhole_urls()
        provision(deployment, urls, len(urls))
        publisher = Publisher(deployment)
        asyncio.run(publisher.steady(events, sizes.isolation_rate))
        stats = deployment.wait_delivered(receiver, events * hosts, sizes.timeout(events * hosts))
        receipts = receiver.first_receipts(place)
    healthy = frozenset(receiver.healthy)
    run = Run(
        "isolation",
        f"hookyard {label}",
        dialect,
        events * hosts,
        stats["healthy_distinct"],
        stats["duplicates"],
    )
    run.figures.update(latency_figures(latencies_ms(receipts, publisher.published, healthy)))
    run.figures["deliveries_per_s"] = rate(
        events * hosts, min(publisher.published.values()), stats["last_new_at"]
    )
    per_port = stats["per_port"]
    run.figures["blackhole_requests"] = float(
        sum(per_port.get(str(p), 0) for p in receiver.blackhole)
    )
    return bench.report.add(run)


def publisher_lag(bench: Bench) -> Run:
    """The load generator against `benchmarks.bare_publish` (uvicorn answering 202 at once) at
    the latency scenario's rate: its own lag, printed beside Hookyard's 202 times."""
    sizes = bench.sizes
    count = int(sizes.latency_rate * sizes.latency_seconds)
    place = bench.place("latency-publisher-lag")
    port = procs.free_port()
    command = [sys.executable, "-m", "benchmarks.bare_publish", "--port", str(port)]
    server = procs.Child(command, {}, place / "bare.log")
    try:
        lag = Deployment("", place, {}, port, server, tenant=BARE_TENANT)
        lag.wait_up_at("/")
        publisher = Publisher(lag)
        asyncio.run(publisher.steady(count, sizes.latency_rate))
    finally:
        server.stop()
    run = Run("latency", "publisher vs bare endpoint", "-", count, len(publisher.accepted_at), 0)
    accepted = _accepted_ms(publisher)
    run.figures["accept_p50_ms"] = percentile(accepted, 0.50)
    run.figures["accept_p99_ms"] = percentile(accepted, 0.99)
    return bench.report.add(run)


def curve(bench: Bench, dialect: str) -> Run:
    """Open-loop single publishes at rising rates on one `hookyard serve`, `curve_seconds` each,
    until a step's p99 goes over `CURVE_P99_MS`: the highest rate that kept it."""
    sizes = bench.sizes
    place = bench.place(f"latency-curve-{dialect}")
    run = Run("latency curve", "hookyard", dialect, 0, 0, 0)
    best = 0.0
    with (
        databases.fresh(dialect, place) as url,
        ReceiverProcess(healthy=1) as receiver,
        Deployment.start(url, place) as deployment,
    ):
        provision(deployment, receiver.urls(), 1)
        first = 0
        for step_rate in sizes.curve_rates:
            count = int(step_rate * sizes.curve_seconds)
            publisher = Publisher(deployment)
            asyncio.run(publisher.steady(count, step_rate, first))
            stats = deployment.wait_delivered(receiver, first + count, sizes.timeout(count))
            run.expected += count
            run.received = stats["healthy_distinct"]
            run.duplicates = stats["duplicates"]
            values = latencies_ms(receiver.first_receipts(place), publisher.published)
            p99 = percentile(values, 0.99)
            run.figures[f"p99_ms_at_{step_rate:.0f}"] = p99
            first += count
            if p99 > CURVE_P99_MS:
                break
            best = step_rate
    run.figures["highest_rate_p99_le_50ms"] = best
    return bench.report.add(run)


CURVE_P99_MS = 50.0
BARE_TENANT = Tenant(payloads.COMPANY, payloads.BUSINESS_UNIT, "bare-client", "bare-secret")


def _accepted_ms(publisher: Publisher) -> list[float]:
    return [
        (publisher.accepted_at[seq] - due) * 1000.0
        for seq, due in publisher.published.items()
        if seq in publisher.accepted_at
    ]
