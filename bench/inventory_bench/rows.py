"""The inventory rows of /work/shared/PERFORMANCE.md: ratio floors and goals, latency targets, and the
latency table (the ratio table, result file and plot are booking_bench.report's)."""

from __future__ import annotations

from typing import Any

from booking_bench.openloop import OpenLoopResult
from booking_bench.stats import Target

RATIO_TARGETS = {"I1": Target(0.40, 0.55), "I2": Target(0.70, 0.85)}

# (p50 ms, p99 ms); "reserve a kit" at 50% of I1's measured maximum, the round trip at a fixed rate.
LATENCY_TARGETS = {
    "reserve a kit": (4.0, 20.0),
    "booking committed -> confirmed (inventory round trip)": (20.0, 80.0),
}
GATED_LOADS = ("50%", "fixed")


def latency_run(path: str, load: str, result: OpenLoopResult) -> dict[str, Any]:
    return {"path": path, "load": load, "count": result.histogram.get_total_count(), **result.as_dict()}


def latency_table(latency: list[dict[str, Any]]) -> str:
    lines = [
        "| path | load | offered /s | achieved /s | count | p50 ms | p99 ms | p99.9 ms | max ms | target p50 / p99 "
        "| verdict |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for run in latency:
        ms = run["latency_ms"]
        target = LATENCY_TARGETS[run["path"]]
        verdict = "meets" if ms["p50"] <= target[0] and ms["p99"] <= target[1] else "MISSES"
        if run["load"] not in GATED_LOADS:
            verdict += " (informational)"
        load = "fixed rate" if run["load"] == "fixed" else f"{run['load']} of I1 max"
        lines.append(
            f"| {run['path']} | {load} | {run['target_rate_per_s']:,.1f} | {run['achieved_rate_per_s']:,.1f} "
            f"| {run['count']} | {ms['p50']:.2f} | {ms['p99']:.2f} | {ms['p99.9']:.2f} | {ms['p100']:.2f} "
            f"| <= {target[0]:g} / <= {target[1]:g} | {verdict} |"
        )
    return "\n".join(lines)
