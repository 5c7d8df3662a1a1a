"""The report: a Rich table of every run, the ratios, the goals, and the same as JSON."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from benchmarks.results import Report

UNITS = {
    "deliveries_per_s": ("deliveries/s", "{:,.0f}"),
    "p50_ms": ("p50 ms", "{:.1f}"),
    "p99_ms": ("p99 ms", "{:.1f}"),
    "max_ms": ("max ms", "{:.1f}"),
    "accepted_s": ("202 after s", "{:.3f}"),
    "accept_p50_ms": ("202 p50 ms", "{:.1f}"),
    "accept_p99_ms": ("202 p99 ms", "{:.1f}"),
    "last_receipt_s": ("last receipt s", "{:.2f}"),
    "peak_rss_mb": ("peak RSS MB", "{:.0f}"),
    "startup_s": ("first receipt s", "{:.2f}"),
    "blackhole_requests": ("blackhole reqs", "{:.0f}"),
    "cpu_ms_per_delivery": ("CPU ms/delivery", "{:.2f}"),
    "fill_s": ("backlog insert s", "{:.0f}"),
    "size_mid_mb": ("size at half MB", "{:.1f}"),
    "size_end_mb": ("size at end MB", "{:.1f}"),
    "size_growth_pct": ("growth %", "{:.0f}"),
    "drain_s": ("drained after s", "{:.1f}"),
}


def _figures(figures: dict[str, float]) -> str:
    parts = []
    for name, value in figures.items():
        label, form = UNITS.get(name, (name, "{:.2f}"))
        parts.append(f"{label} {'-' if math.isnan(value) else form.format(value)}")
    return ", ".join(parts)


def runs_table(report: Report) -> Table:
    table = Table(title="Runs (same machine, same receiver, one run)")
    for column in (
        "scenario",
        "contender",
        "database",
        "expected",
        "received",
        "missing",
        "dups",
        "figures",
    ):
        table.add_column(
            column,
            justify="right" if column in ("expected", "received", "missing", "dups") else "left",
        )
    for run in report.runs:
        table.add_row(
            run.scenario,
            run.contender,
            run.database,
            f"{run.expected:,}",
            f"{run.received:,}",
            str(run.missing),
            str(run.duplicates),
            _figures(run.figures),
        )
    return table


def goals_table(report: Report) -> Table:
    table = Table(title="Ratios and goals")
    for column in ("scenario", "database", "figure", "value", "goal", "met"):
        table.add_column(column)
    for goal in report.goals:
        met = "[green]yes[/green]" if goal.met else "[red]no[/red]"
        table.add_row(
            goal.scenario, goal.database, goal.what, f"{goal.value:,.2f}", goal.target, met
        )
    return table


def show(report: Report, console: Console | None = None) -> None:
    console = console or Console(width=None if Console().is_terminal else 180)
    console.print(runs_table(report))
    console.print(goals_table(report))
    for error in report.errors:
        console.print(f"[red]error:[/red] {error}")
