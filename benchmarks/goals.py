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
    guarded = _figure(report.find("throughput", "ceiling (guarded client)"), "deliveries_per_s")
    if mine and guarded:
        ratio = mine / guarded
        what = "hookyard / guarded-client ceiling"
        report.goal("throughput", dialect, what, ratio, "(reported)", True)
    if mine and peer:
        ratio = mine / peer
        report.goal("throughput", dialect, "hookyard / celery peer", ratio, ">= 10", ratio >= 10)


LATENCY_P99_MS = {"sqlite": 10.0, "postgres": 20.0}


ACCEPT_P99_MS = {"sqlite": 5.0, "postgres": 10.0}


def latency(report: Report, dialect: str, rate: float) -> None:
    run = report.find("latency", "hookyard", dialect)
    p99 = _figure(run, "p99_ms")
    if p99 is not None:
        most = LATENCY_P99_MS[dialect]
        what = f"p99 ms at {rate:,.0f} events/s"
        report.goal("latency", dialect, what, p99, f"<= {most:g}", p99 <= most)
    accept = _figure(run, "accept_p99_ms")
    if accept is not None:
        most = ACCEPT_P99_MS[dialect]
        what = f"202 p99 ms at {rate:,.0f} events/s"
        report.goal("latency", dialect, what, accept, f"<= {most:g}", accept <= most)


def latency_curve(report: Report, dialect: str) -> None:
    run = report.find("latency curve", "hookyard", dialect)
    if run is not None and not run.missing:
        best = run.figures.get("highest_rate_p99_le_50ms", 0.0)
        what = "highest rate (events/s) with p99 <= 50 ms"
        report.goal("latency curve", dialect, what, best, "(reported)", True)


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


def backlog(report: Report, dialect: str, rows: int) -> None:
    dead = report.find("backlog", f"hookyard, {rows:,} dead rows", dialect)
    base = report.find("backlog", "hookyard, 0 dead rows", dialect)
    slowed, fast = _figure(dead, "deliveries_per_s"), _figure(base, "deliveries_per_s")
    if slowed and fast:
        ratio = slowed / fast
        what = f"healthy rate with {rows:,} dead rows / without"
        report.goal("backlog", dialect, what, ratio, ">= 0.67", ratio >= 0.67)
    dear, cheap = _figure(dead, "cpu_ms_per_delivery"), _figure(base, "cpu_ms_per_delivery")
    if dear and cheap:
        ratio = dear / cheap
        what = "CPU per delivery (serve + its database backends) with / without"
        report.goal("backlog", dialect, what, ratio, "<= 1.2", ratio <= 1.2)


def blackhole(report: Report, dialect: str, pending: int) -> None:
    dead = report.find("blackhole", f"hookyard, {pending:,} pending to a blackhole", dialect)
    base = report.find("blackhole", "hookyard, 0 pending to a blackhole", dialect)
    slowed, fast = _figure(dead, "deliveries_per_s"), _figure(base, "deliveries_per_s")
    if slowed and fast:
        ratio = slowed / fast
        what = f"healthy rate beside a blackhole with {pending:,} pending / without one"
        report.goal("blackhole", dialect, what, ratio, ">= 0.67", ratio >= 0.67)


def cold_burst(report: Report, dialect: str) -> None:
    cold = _figure(report.find("cold burst", "hookyard cold", dialect), "deliveries_per_s")
    warm = _figure(report.find("cold burst", "hookyard warm", dialect), "deliveries_per_s")
    if cold and warm:
        ratio = cold / warm
        report.goal("cold burst", dialect, "cold rate / warm rate", ratio, ">= 0.9", ratio >= 0.9)


def retention(report: Report, dialect: str) -> None:
    pruned = report.find("retention", "hookyard, pruning", dialect)
    kept = report.find("retention", "hookyard, no pruning", dialect)
    growth = None if pruned is None or pruned.missing else pruned.figures.get("size_growth_pct")
    if growth is not None:
        what = "database growth over the second half, pruning"
        report.goal("retention", dialect, what, growth, "<= 20 %", growth <= 20)
    fast, slow = _figure(kept, "deliveries_per_s"), _figure(pruned, "deliveries_per_s")
    if fast and slow:
        ratio = slow / fast
        what = "delivery rate with pruning / without"
        report.goal("retention", dialect, what, ratio, ">= 0.9", ratio >= 0.9)


def costs(report: Report, rate: float) -> None:
    """The capacity model (docs/scaling.md) checked: the small run's costs times the big run's
    publishes and deliveries, against the CPU the big run spent."""
    small = report.find("costs", f"1 API process(es), 1 worker(s), {rate:,.0f}/s", "postgres")
    big = report.find("costs", f"2 API process(es), 2 worker(s), {2 * rate:,.0f}/s", "postgres")
    if small is None or big is None or small.missing or big.missing:
        return
    publishes = big.expected / 8
    for part, per, count in (
        ("api", "api_cpu_ms_per_publish", publishes),
        ("worker", "worker_cpu_ms_per_delivery", big.expected),
        ("postgres", "postgres_cpu_ms_per_delivery", big.expected),
    ):
        predicted = small.figures.get(per, 0.0) * count / 1000.0
        spent = big.figures.get(f"{part}_cpu_s", 0.0)
        if predicted and spent:
            what = f"{part} CPU of 2x2 at {2 * rate:,.0f}/s, spent / predicted"
            report.goal("costs", "postgres", what, spent / predicted, "(reported)", True)
