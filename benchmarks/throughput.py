"""Scenarios 1, 5 and 6: deliveries per second, with baselines, over workers, and memory.

Every run delivers to `HOSTS` receiver ports (one subscription record per port, so the default
per-host limit of 8 gives Hookyard 64 in flight, the ceiling's and the peer's concurrency).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from typing import Any

from benchmarks import databases, peer, procs
from benchmarks.bench import CONCURRENCY, HOSTS, Bench
from benchmarks.hookyard_side import Deployment, Publisher, provision
from benchmarks.receiver import ReceiverProcess
from benchmarks.results import Run, rate

CEILINGS = {"plain": "ceiling", "guarded": "ceiling (guarded client)"}
"""The honest ceiling (a bare aiohttp session, no Hookyard code), which the ratios use, and the
same POSTs through Hookyard's guarded client, shown beside it."""


def ceiling(bench: Bench, count: int, client: str = "plain") -> Run:
    """The same signed POSTs under uvloop, nothing stored (`benchmarks.ceiling`)."""
    out = bench.place(f"ceiling-{client}") / "throughput.json"
    with ReceiverProcess(healthy=HOSTS) as receiver:
        command = [
            sys.executable,
            "-m",
            "benchmarks.ceiling",
            f"--out={out}",
            f"--count={count}",
            f"--concurrency={CONCURRENCY}",
            f"--client={client}",
            *receiver.urls(),
        ]
        subprocess.run(command, check=True, timeout=bench.sizes.timeout(count), cwd=procs.ROOT)
        stats = receiver.wait_distinct(count, 30)
    started = json.loads(out.read_text())["started_at"]
    run = Run(
        "throughput", CEILINGS[client], "-", count, stats["healthy_distinct"], stats["duplicates"]
    )
    run.figures["deliveries_per_s"] = rate(count, started, stats["last_new_at"])
    return bench.report.add(run)


def celery_peer(bench: Bench, count: int) -> Run:
    """One Celery task per delivery on the local Redis, publish time included."""
    peer.flush()
    worker = peer.PeerWorker(bench.place("peer") / "worker.log", concurrency=CONCURRENCY)
    try:
        with ReceiverProcess(healthy=HOSTS) as receiver:
            worker.wait_ready()
            published = peer.enqueue(receiver.urls(), count)
            stats = receiver.wait_distinct(count, bench.sizes.timeout(count) * 3)
    finally:
        worker.stop()
        peer.flush()
    run = Run(
        "throughput", "celery peer", "-", count, stats["healthy_distinct"], stats["duplicates"]
    )
    received = stats["healthy_distinct"]
    run.figures["deliveries_per_s"] = rate(received, min(published.values()), stats["last_new_at"])
    return bench.report.add(run)


def _deliver(
    bench: Bench, deployment: Deployment, receiver: ReceiverProcess, count: int
) -> tuple[dict[str, Any], float]:
    """Publish `count` deliveries in batches; receiver stats and the first publish time."""
    events = count // HOSTS
    publisher = Publisher(deployment)
    asyncio.run(publisher.batches(range(events), bench.sizes.batch_events))
    stats = deployment.wait_delivered(receiver, events * HOSTS, bench.sizes.timeout(count))
    return stats, min(publisher.published.values())


def hookyard(bench: Bench, dialect: str, count: int, scenario: str = "throughput") -> Run:
    """`hookyard serve`: publish and deliver `count` at once; peak RSS of the process."""
    place = bench.place(f"{scenario}-{dialect}-{count}")
    with (
        databases.fresh(dialect, place) as url,
        ReceiverProcess(healthy=HOSTS) as receiver,
        Deployment.start(url, place) as deployment,
    ):
        provision(deployment, receiver.urls(), HOSTS)
        sampler = procs.RssSampler(deployment.worker_pids)
        try:
            stats, first = _deliver(bench, deployment, receiver, count)
        finally:
            peaks = sampler.stop()
    expected = count // HOSTS * HOSTS
    run = Run(
        scenario, "hookyard", dialect, expected, stats["healthy_distinct"], stats["duplicates"]
    )
    run.figures["deliveries_per_s"] = rate(expected, first, stats["last_new_at"])
    run.figures["peak_rss_mb"] = max(peaks.values())
    return bench.report.add(run)


def cold_burst(bench: Bench, dialect: str, count: int) -> list[Run]:
    """`count` deliveries into a database created just before, then `count` more into the same,
    now warm, database: plans chosen on empty tables must not make the first burst slower."""
    place = bench.place(f"cold-burst-{dialect}")
    events = count // HOSTS
    runs = []
    with (
        databases.fresh(dialect, place) as url,
        ReceiverProcess(healthy=HOSTS) as receiver,
        Deployment.start(url, place) as deployment,
    ):
        provision(deployment, receiver.urls(), HOSTS)
        for burst, contender in enumerate(("hookyard cold", "hookyard warm")):
            publisher = Publisher(deployment)
            seqs = range(burst * events, (burst + 1) * events)
            asyncio.run(publisher.batches(seqs, bench.sizes.batch_events))
            stats = deployment.wait_delivered(
                receiver, (burst + 1) * events * HOSTS, bench.sizes.timeout(count)
            )
            received = stats["healthy_distinct"] - burst * events * HOSTS
            run = Run("cold burst", contender, dialect, events * HOSTS, received, 0)
            run.figures["deliveries_per_s"] = rate(
                events * HOSTS, min(publisher.published.values()), stats["last_new_at"]
            )
            runs.append(bench.report.add(run))
        runs[-1].duplicates = stats["duplicates"]
    return runs


def worker_memory(bench: Bench, dialect: str, counts: tuple[int, int]) -> list[Run]:
    """Peak RSS of one `hookyard worker` after the first `counts[0]` deliveries and after all
    `counts[1]` of one run: memory that grows with deliveries shows as the difference."""
    small, large = (count // HOSTS * HOSTS for count in counts)
    place = bench.place(f"memory-{dialect}")
    with (
        databases.fresh(dialect, place) as url,
        ReceiverProcess(healthy=HOSTS) as receiver,
        Deployment.start(url, place, split=True, workers=1) as deployment,
    ):
        provision(deployment, receiver.urls(), HOSTS)
        sampler = procs.RssSampler(deployment.worker_pids)
        try:
            publisher = Publisher(deployment)
            thread = threading.Thread(
                target=asyncio.run,
                args=(publisher.batches(range(large // HOSTS), bench.sizes.batch_events),),
            )
            thread.start()
            early = deployment.wait_delivered(receiver, small, bench.sizes.timeout(small))
            early_peak = max(sampler.peak.values()) / 2**20
            stats = deployment.wait_delivered(receiver, large, bench.sizes.timeout(large))
            thread.join(timeout=60)
        finally:
            peaks = sampler.stop()
    first = min(publisher.published.values())
    runs = []
    points = ((small, early, early_peak), (large, stats, max(peaks.values())))
    for asked, (count, seen, peak) in zip(counts, points, strict=True):
        received = min(count, seen["healthy_distinct"])
        run = Run(f"memory {asked:,}", "hookyard worker", dialect, count, received, 0)
        run.figures["deliveries_per_s"] = rate(count, first, seen["last_new_at"])
        run.figures["peak_rss_mb"] = peak
        runs.append(bench.report.add(run))
    runs[-1].duplicates = stats["duplicates"]
    return runs


def scale_out(bench: Bench, workers: int, count: int) -> Run:
    """A backlog of `count` on PostgreSQL, then `workers` worker processes drain it."""
    place = bench.place(f"scale-{workers}")
    events = count // HOSTS
    with (
        databases.fresh("postgres", place) as url,
        ReceiverProcess(healthy=HOSTS) as receiver,
        Deployment.start(url, place, split=True) as deployment,
    ):
        provision(deployment, receiver.urls(), HOSTS)
        asyncio.run(Publisher(deployment).batches(range(events), bench.sizes.batch_events))
        started = time.time()
        for _ in range(workers):
            deployment.add_worker()
        stats = deployment.wait_delivered(receiver, events * HOSTS, bench.sizes.timeout(count))
        receipts = receiver.first_receipts(place)
    first = min((at for at, _, _ in receipts.values()), default=started)
    run = Run(
        "scale-out",
        f"hookyard x{workers}",
        "postgres",
        events * HOSTS,
        stats["healthy_distinct"],
        stats["duplicates"],
    )
    run.figures["deliveries_per_s"] = rate(events * HOSTS, first, stats["last_new_at"])
    run.figures["startup_s"] = first - started
    return bench.report.add(run)
