"""The notifications run's report: the parts written by notifications_bench.inprocess (E1, M1) and
notifications_bench.latency (booking committed -> notification handler started) as one table, one
JSON result file and one plot. Exit status: 0 accepted, 1 a correctness check failed, 3 a gated
row's ratios spread > 10%.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from booking_bench import report
from booking_bench.stats import RatioRow
from notifications_bench.rows import RATIO_TARGETS, latency_table


def ratio_row(saved: dict[str, Any]) -> RatioRow:
    return RatioRow(
        id=saved["id"],
        what=saved["what"],
        subject=saved["subject"],
        baseline=saved["baseline"],
        subject_rates=list(saved["subject_rates_per_s"]),
        baseline_rates=list(saved["baseline_rates_per_s"]),
        target=RATIO_TARGETS.get(saved["id"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="the notifications benchmark's report (run by bench/notifications)")
    parser.add_argument("--inprocess", type=Path, required=True)
    parser.add_argument("--latency", type=Path, required=True)
    parser.add_argument("--results-dir", type=Path, required=True)
    parser.add_argument("--mode", required=True)
    parser.add_argument("--config", required=True, help="JSON: the run's settings, recorded as given")
    parser.add_argument("--elapsed-s", type=float, required=True)
    args = parser.parse_args()

    inprocess = json.loads(args.inprocess.read_text())
    latency_part = json.loads(args.latency.read_text())
    rows = [ratio_row(saved) for saved in inprocess["ratios"]]
    latency = latency_part["latency"]
    checks = [*inprocess["checks"], *latency_part["checks"]]
    recorded_versions = inprocess["versions"] | {"rabbitmq": latency_part["rabbitmq"], "wrk": "not used"}
    config = json.loads(args.config)

    all_ok = all(c["ok"] for c in checks)
    gated_accepted = all(row.accepted for row in rows if row.target is not None)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    title = (
        f"notifications bench {stamp} ({args.mode}: {config['drain_s']:g} s drains x {config['rounds']} rounds, "
        f"latency {config['measure_s']:g} s at {config['latency_rate_per_s']:g}/s); "
        f"PostgreSQL {recorded_versions['postgresql'].split()[1]}, {recorded_versions['rabbitmq']}, "
        f"Python {recorded_versions['python']}, uvloop {recorded_versions['packages']['uvloop']}"
    )
    result = {
        "started_at": config.get("started_at"),
        "finished_at": stamp,
        "elapsed_s": round(args.elapsed_s, 1),
        "config": config,
        "placement": {
            "service_core": config["service_core"],
            "load_core": config["load_core"],
            "note": "E1 and M1: one process (both paths and their drivers) pinned to service_core, the SMTP server "
            "process to load_core; latency: booking-api, booking-worker, inventory-worker and notifications' "
            "consumers pinned to service_core, the booking generator to load_core; PostgreSQL and RabbitMQ unpinned",
        },
        "versions": recorded_versions,
        "setup": {"inprocess": inprocess["setup"], "latency": latency_part["setup"]},
        "ratios": [row.as_dict() for row in rows],
        "latency": latency,
        "throughput_runs": inprocess["throughput_runs"],
        "load_average_at_end": os.getloadavg(),
        "checks": checks,
        "correct": all_ok,
        "accepted": gated_accepted and all_ok,
    }
    json_path = args.results_dir / f"notifications-{stamp}.json"
    report.write_json(json_path, result)
    report.plot(json_path.with_suffix(".png"), rows, latency, title)

    print()
    print(title)
    print()
    print(report.ratio_table(rows))
    print()
    print(latency_table(latency))
    print(f"relay wake-up: {latency_part['setup']['relay_wake']}")
    print()
    failed = [c for c in checks if not c["ok"]]
    print(
        f"correctness: {len(checks)} checks, {len(failed)} failed"
        + "".join(f"\n  FAILED after {c['after']}: {c}" for c in failed)
    )
    print(f"results: {json_path} and {json_path.with_suffix('.png')}  ({args.elapsed_s / 60:.1f} min)")
    if not all_ok:
        sys.exit(1)
    if not gated_accepted:
        print(
            "run REJECTED: a gated row's ratios spread more than 10% (PERFORMANCE.md); run again on a quieter machine"
        )
        sys.exit(3)
    sys.exit(0)


if __name__ == "__main__":
    main()
