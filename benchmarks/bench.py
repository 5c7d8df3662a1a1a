"""The shared state of one benchmark run: sizes, scratch directory, the report."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.results import Report

HOSTS = 8
CONCURRENCY = 64


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is. `SMOKE` runs every scenario in seconds; `FULL` is `make bench`."""

    throughput: int = 50_000
    peer: int = 5_000
    batch_events: int = 500
    latency_rate: float = 1000.0
    latency_seconds: float = 30.0
    curve_rates: tuple[float, ...] = (250.0, 500.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0)
    curve_seconds: float = 10.0
    fanout_records: int = 10_000
    isolation_hosts: int = 20
    isolation_rate: float = 10.0
    isolation_seconds: float = 10.0
    scale_workers: tuple[int, ...] = (1, 2, 4)
    scale_deliveries: int = 16_000
    memory_counts: tuple[int, int] = (10_000, 100_000)
    backlog_rows: int = 1_000_000
    backlog_deliveries: int = 20_000
    blackhole_pending: int = 5_000
    costs_rate: float = 250.0
    costs_seconds: float = 20.0
    cold_burst: int = 50_000
    retention_seconds: float = 600.0
    retention_keep_seconds: float = 5.0
    retention_rate: float = 2_000.0
    min_rate: float = 250.0
    budget_seconds: float = 75 * 60
    memory_everywhere: bool = False

    def memory_dialects(self, dialects: tuple[str, ...]) -> tuple[str, ...]:
        """Where the 100k memory run goes: the worker process on PostgreSQL (SQLite's
        `hookyard serve` peak RSS comes from the throughput run), unless `memory_everywhere`."""
        if self.memory_everywhere or "postgres" not in dialects:
            return dialects
        return ("postgres",)

    def timeout(self, deliveries: int) -> float:
        """How long to wait for `deliveries`: bounded, generous for a loaded 2-core machine."""
        return 30.0 + deliveries / self.min_rate


FULL = Sizes()
SMOKE = Sizes(
    throughput=400,
    peer=100,
    batch_events=20,
    latency_rate=40.0,
    latency_seconds=1.0,
    curve_rates=(20.0, 40.0),
    curve_seconds=1.0,
    fanout_records=200,
    isolation_hosts=3,
    isolation_rate=20.0,
    isolation_seconds=1.0,
    scale_workers=(1, 2),
    scale_deliveries=200,
    memory_counts=(100, 400),
    backlog_rows=2_000,
    backlog_deliveries=200,
    blackhole_pending=40,
    costs_rate=20.0,
    costs_seconds=1.0,
    cold_burst=400,
    retention_seconds=4.0,
    retention_keep_seconds=1.0,
    retention_rate=200.0,
    min_rate=20.0,
    memory_everywhere=True,
)


@dataclass
class Bench:
    sizes: Sizes
    scratch: Path
    dialects: tuple[str, ...]
    report: Report = field(default_factory=Report)

    def __post_init__(self) -> None:
        self.report.sizes = asdict(self.sizes)
        self.deadline = time.monotonic() + self.sizes.budget_seconds

    def place(self, name: str) -> Path:
        """A fresh scratch directory for one run."""
        path = self.scratch / name
        path.mkdir(parents=True, exist_ok=True)
        return path
