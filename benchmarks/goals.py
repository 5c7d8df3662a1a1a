"""The issue's goals, checked against one run's figures (ratios from the same run)."""

from __future__ import annotations

from benchmarks.results import Report, Run


def _figure(run: Run | None, name: str) -> float | None:
    if run is None or run.missing:
        return None
    value = run.figures.get(name)
    return value if value else None


def throughput(report: Report, dialect: str) -> None:
    run = report.find("throughput", "hookyard", dialect)
    rss = _figure(run, "peak_rss_mb")
    if rss:
        what = "peak RSS MB of hookyard serve"
        report.goal("throughput", dialect, what, rss, "<= 200", rss <= 200)
    mine = _figure(run, "deliveries_per_s")
    ceiling = _figure(report.find("throughput", "ceiling"), "deliveries_per_s")
    peer = _figure(report.find("throughput", "celery peer"), "deliveries_per_s")
    if mine and ceiling:
        ratio = mine / ceiling
        report.goal("throughput", dialect, "hookyard / ceiling", ratio, ">= 0.7", ratio >= 0.7)
    if mine and peer:
        ratio = mine / peer
        report.goal("throughput", dialect, "hookyard / celery peer", ratio, ">= 10", ratio >= 10)


def latency(report: Report, dialect: str) -> None:
    p99 = _figure(report.find("latency", "hookyard", dialect), "p99_ms")
    if p99 is not None:
        report.goal("latency", dialect, "p99 ms at the steady rate", p99, "<= 50", p99 <= 50)


def fan_out(report: Report, dialect: str) -> None:
    run = report.find("fan-out", "hookyard", dialect)
    accepted = _figure(run, "accepted_s")
    if accepted is not None:
        report.goal("fan-out", dialect, "seconds to the 202", accepted, "<= 1", accepted <= 1.0)
    fan = _figure(run, "deliveries_per_s")
    base = _figure(report.find("throughput", "hookyard", dialect), "deliveries_per_s")
    if fan and base:
        ratio = fan / base
        report.goal("fan-out", dialect, "rate / throughput rate", ratio, ">= 0.8", ratio >= 0.8)


def isolation(report: Report, dialect: str) -> None:
    dead = _figure(report.find("isolation", "hookyard with blackhole", dialect), "p99_ms")
    alive = _figure(report.find("isolation", "hookyard healthy only", dialect), "p99_ms")
    if dead and alive:
        ratio = dead / alive
        report.goal(
            "isolation", dialect, "healthy p99 with / without", ratio, "<= 1.5", ratio <= 1.5
        )


def scale_out(report: Report, workers: tuple[int, ...]) -> None:
    one = _figure(
        report.find("scale-out", f"hookyard x{workers[0]}", "postgres"), "deliveries_per_s"
    )
    for count in workers[1:]:
        more = _figure(
            report.find("scale-out", f"hookyard x{count}", "postgres"), "deliveries_per_s"
        )
        if one and more:
            report.goal(
                "scale-out", "postgres", f"x{count} / x{workers[0]}", more / one, "(reported)", True
            )


def memory(report: Report, dialect: str, counts: tuple[int, int]) -> None:
    runs = [
        r
        for r in report.runs
        if r.scenario in {f"memory {c}" for c in counts} and r.database == dialect
    ]
    peaks = {r.scenario: _figure(r, "peak_rss_mb") for r in runs}
    small, large = peaks.get(f"memory {counts[0]}"), peaks.get(f"memory {counts[1]}")
    if large:
        report.goal("memory", dialect, "peak worker RSS MB", large, "<= 200", large <= 200)
    if small and large:
        growth = large / small - 1
        what = f"RSS growth {counts[0]:,} -> {counts[1]:,} deliveries"
        report.goal("memory", dialect, what, growth * 100, "<= 10 %", growth <= 0.10)
