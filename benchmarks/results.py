"""What a scenario measured: figures per contender, delivery counts, and the goals they meet."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import payloads


@dataclass
class Run:
    """One contender in one scenario on one database (or none, for the baselines)."""

    scenario: str
    contender: str
    database: str
    expected: int
    received: int
    duplicates: int
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def missing(self) -> int:
        return max(0, self.expected - self.received)


@dataclass
class Goal:
    """A target from the issue and whether this run met it."""

    scenario: str
    database: str
    what: str
    value: float
    target: str
    met: bool


@dataclass
class Report:
    runs: list[Run] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, run: Run) -> Run:
        self.runs.append(run)
        return run

    def goal(
        self, scenario: str, database: str, what: str, value: float, target: str, met: bool
    ) -> None:
        self.goals.append(Goal(scenario, database, what, value, target, met))

    def find(self, scenario: str, contender: str, database: str = "-") -> Run | None:
        for run in self.runs:
            if (run.scenario, run.contender, run.database) == (scenario, contender, database):
                return run
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "sizes": self.sizes,
            "runs": [asdict(run) | {"missing": run.missing} for run in self.runs],
            "goals": [asdict(goal) for goal in self.goals],
            "errors": self.errors,
        }

    def write(self, path: Path) -> None:
        import json

        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_json(), indent=2) + "\n")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def latencies_ms(
    receipts: Mapping[str, tuple[float, str, int]],
    published: Mapping[int, float],
    ports: frozenset[int] | None = None,
) -> list[float]:
    """Publish-to-first-receipt of every delivery whose event we published (optionally by port)."""
    values = []
    for at, tag, port in receipts.values():
        if ports is not None and port not in ports:
            continue
        sent = published.get(payloads.seq_of(tag))
        if sent is not None:
            values.append((at - sent) * 1000.0)
    return values


def latency_figures(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(values, 0.50),
        "p99_ms": percentile(values, 0.99),
        "max_ms": max(values) if values else math.nan,
    }


def rate(count: int, start: float, end: float) -> float:
    return count / (end - start) if end > start and count else 0.0
