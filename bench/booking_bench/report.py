"""What a run leaves behind: a table on stdout, a JSON result file and a PNG plot."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from booking_bench.stats import LATENCY_TARGETS, RatioRow


def ratio_table(rows: list[RatioRow]) -> str:
    lines = [
        "| id | our path | baseline | our rate /s (median) | baseline /s (median) | ratios per round "
        "| median ratio | spread | floor | goal | verdict |",
        "| --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        subject = statistics.median(row.subject_rates) if row.subject_rates else 0
        baseline = statistics.median(row.baseline_rates) if row.baseline_rates else 0
        lines.append(
            f"| {row.id} | {row.subject} | {row.baseline} | {subject:,.0f} | {baseline:,.0f} | "
            f"{', '.join(f'{r:.3f}' for r in row.ratios)} | **{row.median:.3f}** | {row.spread:.1%} | "
            f"{row.target.floor if row.target else '-'} | {row.target.goal if row.target else '-'} | {row.verdict} |"
        )
    return "\n".join(lines)


def latency_table(latency: list[dict[str, Any]]) -> str:
    lines = [
        "| path | load | offered /s | achieved /s | p50 ms | p99 ms | p99.9 ms | max ms | target p50 / p99 "
        "| verdict | gen. lag p99 ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    for run in latency:
        p50, p99 = run["latency_ms"]["p50"], run["latency_ms"]["p99"]
        target = LATENCY_TARGETS[run["path"]]
        verdict = "meets" if p50 <= target[0] and p99 <= target[1] else "MISSES"
        if run["load"] != "50%":
            verdict += " (informational)"
        lines.append(
            f"| {run['path']} | {run['load']} of max | {run['target_rate_per_s']:,.0f} "
            f"| {run['achieved_rate_per_s']:,.0f} | "
            f"{p50:.2f} | {p99:.2f} | {run['latency_ms']['p99.9']:.2f} | {run['latency_ms']['p100']:.2f} | "
            f"<= {target[0]:g} / <= {target[1]:g} | {verdict} | {run['send_lag_ms']['p99']:.2f} |"
        )
    return "\n".join(lines)


def write_json(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")


def plot(path: Path, rows: list[RatioRow], latency: list[dict[str, Any]], title: str) -> None:
    import matplotlib  # noqa: PLC0415 - plotting is the last step; keep start-up light

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    import matplotlib.ticker  # noqa: PLC0415

    fig, (ratios_ax, latency_ax) = plt.subplots(1, 2, figsize=(14, 5.5))
    fig.suptitle(title, fontsize=10)

    # Left: per-round ratios (dots), their median (bar), floor and goal (ticks).
    for x, row in enumerate(rows):
        ratios_ax.bar(x, row.median, color="#9ecae1" if row.target else "#d9d9d9", width=0.6)
        ratios_ax.scatter([x] * len(row.ratios), row.ratios, color="#08519c", zorder=3, s=14)
        if row.target:
            ratios_ax.hlines(
                row.target.floor,
                x - 0.35,
                x + 0.35,
                colors="#cb181d",
                linestyles="-",
                label="floor" if x == 0 else None,
            )
            ratios_ax.hlines(
                row.target.goal, x - 0.35, x + 0.35, colors="#238b45", linestyles="--", label="goal" if x == 0 else None
            )
        ratios_ax.annotate(f"{row.median:.2f}", (x, row.median), ha="center", va="bottom", fontsize=8)
    ratios_ax.set_xticks(range(len(rows)), [row.id for row in rows])
    ratios_ax.set_ylabel("our path / raw baseline (same run)")
    ratios_ax.set_title("throughput ratios (dots: interleaved rounds)")
    ratios_ax.legend(loc="upper right", fontsize=8)

    # Right: latency distribution of every open-loop run, percentile on a log "nines" axis.
    for run in latency:
        points = [(p, ms) for p, ms in run["distribution"] if p < 100]
        xs = [1 / (1 - p / 100) for p, _ in points]
        latency_ax.plot(xs, [ms for _, ms in points], marker=".", label=f"{run['path']} @ {run['load']}")
    latency_ax.set_xscale("log")
    latency_ax.set_yscale("log")
    latency_ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ticks = [0, 50, 90, 99, 99.9, 99.99]
    latency_ax.set_xticks([1 / (1 - p / 100) for p in ticks], [f"p{p:g}" for p in ticks])
    latency_ax.set_ylabel("ms from intended send time")
    latency_ax.set_title("open-loop latency (coordinated-omission corrected)")
    latency_ax.legend(fontsize=7)
    latency_ax.grid(True, which="both", alpha=0.3)

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
