"""The notifications rows of /work/shared/PERFORMANCE.md: E1's floor and goal, the latency target, and
the latency table (the ratio table, result file and plot are booking_bench.report's). M1, e-mails
rendered and delivered, has no row there: it is reported against its raw baseline, ungated."""

from __future__ import annotations

from typing import Any

from booking_bench.stats import Target

RATIO_TARGETS = {"E1": Target(0.35, 0.50)}

CONFIRMED_PATH = "booking committed -> notification handler started"
CONTACT_PATH = "booking API transaction -> notification handler started (patient contact)"
# (p50 ms, p99 ms) at a fixed, modest rate; the contact row is informational (no target of its own).
LATENCY_TARGETS: dict[str, tuple[float, float] | None] = {CONFIRMED_PATH: (10.0, 50.0), CONTACT_PATH: None}


def latency_table(latency: list[dict[str, Any]]) -> str:
    lines = [
        "| path | offered /s | count | p50 ms | p99 ms | p99.9 ms | max ms | target p50 / p99 | verdict |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for run in latency:
        ms = run["latency_ms"]
        target = LATENCY_TARGETS[run["path"]]
        if target is None:
            wanted, verdict = "-", "informational"
        else:
            wanted = f"<= {target[0]:g} / <= {target[1]:g}"
            verdict = "meets" if ms["p50"] <= target[0] and ms["p99"] <= target[1] else "MISSES"
        lines.append(
            f"| {run['path']} | {run['target_rate_per_s']:,.1f} | {run['count']} | {ms['p50']:.2f} | {ms['p99']:.2f} "
            f"| {ms['p99.9']:.2f} | {ms['p100']:.2f} | {wanted} | {verdict} |"
        )
    return "\n".join(lines)
