"""Scenario 1 split in two: how long `hookyard serve` takes to accept the publishes, and how fast
it delivers once they are all in.

    python -m benchmarks.serve_phases --dialect sqlite|postgres --deliveries 50000

The same set-up as scenario 1 (`benchmarks.throughput.hookyard`: one `hookyard serve`, 8 receiver
ports with one record each, batches of 500 events over HTTP), printing the time from the first
publish until the last publish was answered, the deliveries received by then, the overall rate
(first publish to last receipt, scenario 1's figure) and the rate after the last publish.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks import databases
from benchmarks.bench import HOSTS
from benchmarks.hookyard_side import Deployment, Publisher, provision
from benchmarks.receiver import ReceiverProcess

BATCH_EVENTS = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=databases.DIALECTS, default="sqlite")
    parser.add_argument("--deliveries", type=int, default=50000)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    count = args.deliveries // HOSTS * HOSTS
    with tempfile.TemporaryDirectory(prefix="hookyard-phases-") as scratch:
        place = Path(scratch)
        with (
            databases.fresh(args.dialect, place) as url,
            ReceiverProcess(healthy=HOSTS) as receiver,
            Deployment.start(url, place) as deployment,
        ):
            provision(deployment, receiver.urls(), HOSTS)
            publisher = Publisher(deployment)
            asyncio.run(publisher.batches(range(count // HOSTS), BATCH_EVENTS))
            published = time.time()
            deployment.wait_delivered(receiver, count, args.timeout)
            times = sorted(at for at, _, _ in receiver.first_receipts(place).values())
        databases.finish_drops()
    first = min(publisher.published.values())
    early = sum(1 for at in times if at <= published)
    after = (
        f"{(count - early) / (times[-1] - published):.0f}/s after the last publish"
        if early < count
        else "all delivered while publishing"
    )
    print(
        f"{args.dialect}: publishing took {published - first:.2f} s, {early} delivered by then;"
        f" {count / (times[-1] - first):.0f} deliveries/s overall, {after}"
    )


if __name__ == "__main__":
    main()
