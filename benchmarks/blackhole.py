"""Scenario "blackhole": a live host that accepts connections and never answers, with thousands
of deliveries due to it, must not slow the healthy hosts more than 1.5x.

Eight healthy hosts each have a record of `ProjectChanged`; with `pending` > 0 a ninth record, of
`ProjectCreated`, points at a blackholed receiver port (accepts, reads, never answers). First
`pending` events of `ProjectCreated` are published through the API, so the blackholed host has
that many live deliveries due (tried, hanging until the delivery timeout, retried), not rows
inserted behind Hookyard's back as in scenario "backlog"; then `backlog_deliveries` go to the
healthy hosts as in the throughput scenario. The baseline is the same run with no blackholed
record at all (`pending` = 0), not one that carries the hanging host too.
"""

from __future__ import annotations

import asyncio

from benchmarks import databases, procs
from benchmarks.bench import HOSTS, Bench
from benchmarks.hookyard_side import Deployment, Publisher, add_records, provision
from benchmarks.receiver import ReceiverProcess
from benchmarks.results import Run, rate

DEAD_EVENT_TYPE = "ProjectCreated"


def blackhole(bench: Bench, dialect: str, pending: int) -> Run:
    """The healthy hosts' rate and `hookyard serve`'s CPU per healthy delivery beside a
    blackholed host with `pending` live deliveries (0: no blackholed host)."""
    count = bench.sizes.backlog_deliveries
    place = bench.place(f"blackhole-{dialect}-{pending}")
    with (
        databases.fresh(dialect, place) as url,
        ReceiverProcess(healthy=HOSTS, blackhole=1) as receiver,
        Deployment.start(url, place) as deployment,
    ):
        provision(deployment, receiver.urls(), HOSTS)
        if pending:
            add_records(deployment, receiver.blackhole_urls(), 1, DEAD_EVENT_TYPE)
            dead = Publisher(deployment, DEAD_EVENT_TYPE)
            asyncio.run(dead.batches(range(pending), bench.sizes.batch_events))
            deployment.wait_blackholed(receiver, min(pending, 8), 60)
        meter = procs.CpuMeter(deployment.worker_pids).start()
        events = count // HOSTS
        publisher = Publisher(deployment)
        asyncio.run(publisher.batches(range(events), bench.sizes.batch_events))
        stats = deployment.wait_delivered(receiver, events * HOSTS, bench.sizes.timeout(count))
        cpu_s = meter.stop()
    expected = events * HOSTS
    received = stats["healthy_distinct"]
    contender = f"hookyard, {pending:,} pending to a blackhole"
    run = Run("blackhole", contender, dialect, expected, received, stats["duplicates"])
    run.figures["deliveries_per_s"] = rate(
        expected, min(publisher.published.values()), stats["last_new_at"]
    )
    run.figures["cpu_ms_per_delivery"] = cpu_s * 1000.0 / max(received, 1)
    return bench.report.add(run)
