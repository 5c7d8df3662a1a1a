"""`python -m benchmarks`: every scenario, its baselines in the same run, ratios and goals.

`--smoke` runs each scenario at a tiny size (seconds); `--only` picks scenarios; `--json` says
where the results go; `--backlog-rows` and `--retention-seconds` size those two scenarios, and
`--size NAME=VALUE` any other size (`benchmarks.bench.Sizes`).
Exit status 1 when a scenario failed or a delivery went missing.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from benchmarks import (
    backlog,
    blackhole,
    costs,
    databases,
    goals,
    latency,
    report,
    retention,
    throughput,
)
from benchmarks.bench import FULL, SMOKE, Bench, Sizes

SCENARIOS = (
    "throughput",
    "latency",
    "latency-curve",
    "fan-out",
    "isolation",
    "scale-out",
    "memory",
    "backlog",
    "blackhole",
    "cold-burst",
    "retention",
    "costs",
)


def _throughput(bench: Bench) -> None:
    sizes = bench.sizes
    _attempt(bench, "ceiling throughput", lambda: throughput.ceiling(bench, sizes.throughput))
    _attempt(
        bench,
        "guarded-client ceiling throughput",
        lambda: throughput.ceiling(bench, sizes.throughput, "guarded"),
    )
    _attempt(bench, "celery peer throughput", lambda: throughput.celery_peer(bench, sizes.peer))
    for dialect in bench.dialects:
        _attempt(
            bench,
            f"hookyard throughput {dialect}",
            partial(throughput.hookyard, bench, dialect, sizes.throughput),
        )
        goals.throughput(bench.report, dialect)


def _latency(bench: Bench) -> None:
    _attempt(bench, "ceiling latency", lambda: latency.ceiling(bench))
    _attempt(bench, "publisher lag", lambda: latency.publisher_lag(bench))
    for dialect in bench.dialects:
        _attempt(bench, f"hookyard latency {dialect}", partial(latency.hookyard, bench, dialect))
        goals.latency(bench.report, dialect, bench.sizes.latency_rate)


def _latency_curve(bench: Bench) -> None:
    for dialect in bench.dialects:
        _attempt(bench, f"latency curve {dialect}", partial(latency.curve, bench, dialect))
        goals.latency_curve(bench.report, dialect)


def _fan_out(bench: Bench) -> None:
    for dialect in bench.dialects:
        _attempt(bench, f"fan-out {dialect}", partial(latency.fan_out, bench, dialect))
        goals.fan_out(bench.report, dialect)


def _isolation(bench: Bench) -> None:
    for dialect in bench.dialects:
        for dead in (False, True):
            _attempt(
                bench,
                f"isolation {dialect} blackhole={dead}",
                partial(latency.isolation, bench, dialect, dead),
            )
        goals.isolation(bench.report, dialect)


def _scale_out(bench: Bench) -> None:
    if "postgres" not in bench.dialects:
        return
    for workers in bench.sizes.scale_workers:
        _attempt(
            bench,
            f"scale-out x{workers}",
            partial(throughput.scale_out, bench, workers, bench.sizes.scale_deliveries),
        )
    goals.scale_out(bench.report, bench.sizes.scale_workers)


def _memory(bench: Bench) -> None:
    counts = bench.sizes.memory_counts
    for dialect in bench.sizes.memory_dialects(bench.dialects):
        _attempt(
            bench, f"memory {dialect}", partial(throughput.worker_memory, bench, dialect, counts)
        )
        goals.memory(bench.report, dialect, counts)


def _backlog(bench: Bench) -> None:
    rows = bench.sizes.backlog_rows
    for dialect in bench.dialects:
        for dead in (0, rows):
            _attempt(
                bench,
                f"backlog {dialect} {dead:,} rows",
                partial(backlog.backlog, bench, dialect, dead),
            )
        goals.backlog(bench.report, dialect, rows)


def _blackhole(bench: Bench) -> None:
    pending = bench.sizes.blackhole_pending
    for dialect in bench.dialects:
        for dead in (0, pending):
            _attempt(
                bench,
                f"blackhole {dialect} {dead:,} pending",
                partial(blackhole.blackhole, bench, dialect, dead),
            )
        goals.blackhole(bench.report, dialect, pending)


def _costs(bench: Bench) -> None:
    if "postgres" not in bench.dialects:
        return
    rate = bench.sizes.costs_rate
    for api, workers, times in ((1, 1, 1), (2, 2, 2)):
        _attempt(
            bench,
            f"costs {api} API x {workers} workers",
            partial(costs.measure, bench, api, workers, rate * times),
        )
    goals.costs(bench.report, rate)


def _cold_burst(bench: Bench) -> None:
    for dialect in bench.dialects:
        _attempt(
            bench,
            f"cold burst {dialect}",
            partial(throughput.cold_burst, bench, dialect, bench.sizes.cold_burst),
        )
        goals.cold_burst(bench.report, dialect)


def _retention(bench: Bench) -> None:
    for dialect in bench.dialects:
        for prune in (False, True):
            _attempt(
                bench,
                f"retention {dialect} pruning={prune}",
                partial(retention.retention, bench, dialect, prune),
            )
        goals.retention(bench.report, dialect)


RUNNERS: dict[str, Callable[[Bench], None]] = {
    "throughput": _throughput,
    "latency": _latency,
    "latency-curve": _latency_curve,
    "fan-out": _fan_out,
    "isolation": _isolation,
    "scale-out": _scale_out,
    "memory": _memory,
    "backlog": _backlog,
    "blackhole": _blackhole,
    "cold-burst": _cold_burst,
    "retention": _retention,
    "costs": _costs,
}


def _attempt(bench: Bench, what: str, step: Callable[[], object]) -> None:
    if time.monotonic() > bench.deadline:
        bench.report.errors.append(f"{what}: skipped, the run's time budget is spent")
        return
    print(f"-- {what}", end="", flush=True)
    started = time.monotonic()
    try:
        step()
        print(f" ({time.monotonic() - started:.0f} s)", flush=True)
    except Exception as exc:  # a failed scenario is reported and the others still run
        traceback.print_exc()
        bench.report.errors.append(f"{what}: {type(exc).__name__}: {exc}")


def machine() -> dict[str, object]:
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--smoke", action="store_true", help="every scenario at a tiny size")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="scenarios, comma-separated")
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--json", type=Path, default=Path(".bench/results.json"))
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory and logs")
    parser.add_argument("--backlog-rows", type=int, help="dead rows in the backlog scenario")
    parser.add_argument("--retention-seconds", type=float, help="length of each retention run")
    parser.add_argument(
        "--size",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other size of benchmarks.bench.Sizes, e.g. --size cold_burst=10000",
    )
    return parser.parse_args()


def sizes(args: argparse.Namespace) -> Sizes:
    """`--smoke` or the full sizes, with the sizes given on the command line."""
    chosen = SMOKE if args.smoke else FULL
    if args.backlog_rows is not None:
        chosen = replace(chosen, backlog_rows=args.backlog_rows)
    if args.retention_seconds is not None:
        chosen = replace(chosen, retention_seconds=args.retention_seconds)
    for pair in args.size:
        name, _, value = pair.partition("=")
        current = getattr(chosen, name, None)
        if not isinstance(current, int | float) or isinstance(current, bool):
            raise SystemExit(f"--size {pair}: NAME must be a number field of Sizes")
        try:
            changed: dict[str, Any] = {name: type(current)(value)}
        except ValueError:
            raise SystemExit(f"--size {pair}: VALUE must be a {type(current).__name__}") from None
        chosen = replace(chosen, **changed)
    return chosen


def main() -> int:
    args = _arguments()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    dialects = tuple(d.strip() for d in args.databases.split(",") if d.strip())
    if unknown or not set(dialects) <= set(databases.DIALECTS):
        print(f"choose scenarios from {', '.join(SCENARIOS)} and databases from sqlite, postgres")
        return 2
    if "postgres" in dialects and (problem := databases.postgres_available()):
        print(f"PostgreSQL is not reachable ({problem}); run with --databases sqlite")
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="hookyard-bench-"))
    bench = Bench(sizes(args), scratch, dialects)
    bench.report.machine = machine()
    try:
        for name in chosen:
            RUNNERS[name](bench)
    finally:
        databases.finish_drops()
        bench.report.write(args.json)
        report.show(bench.report)
        print(f"results: {args.json}" + (f"; logs: {scratch}" if args.keep else ""))
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    failed = bench.report.errors or any(run.missing for run in bench.report.runs)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
