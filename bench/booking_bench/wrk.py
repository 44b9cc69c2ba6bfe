"""Closed-loop throughput with wrk: the ceiling of each path at a fixed number of connections."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parents[1] / "lua"


@dataclass(frozen=True)
class WrkLoad:
    threads: int = 2  # both on the load core; two event loops keep wrk itself far from saturation
    connections: int = 32
    timeout_s: int = 10


@dataclass
class WrkResult:
    label: str
    seconds: float
    requests: int
    statuses: dict[str, int]
    errors: dict[str, int]
    next_k: int
    p50_ms: float
    p99_ms: float
    expected_status: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def good(self) -> int:
        """Requests answered with the status this path is meant to answer (201, 409 or 200)."""
        return self.statuses.get(str(self.expected_status), 0)

    @property
    def rate(self) -> float:
        return self.good / self.seconds

    @property
    def unexpected(self) -> int:
        transport = sum(v for k, v in self.errors.items() if k != "status")
        return self.requests - self.good + transport

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "good": self.good,
            "rate_per_s": round(self.rate, 1),
            "statuses": self.statuses,
            "errors": self.errors,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "expected_status": self.expected_status,
            **self.extra,
        }


async def run_wrk(
    *,
    label: str,
    url: str,
    script: str,
    script_args: list[str],
    seconds: float,
    load: WrkLoad,
    expected_status: int,
    core: int | None,
) -> WrkResult:
    command = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={load.timeout_s}s",
        "-s",
        str(LUA / script),
        url,
        "--",
        *script_args,
    ]
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    text = stdout.decode()
    line = next((ln for ln in text.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {text}\n{stderr.decode()}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return WrkResult(
        label=label,
        seconds=data["duration_us"] / 1e6,
        requests=data["requests"],
        statuses=data["statuses"],
        errors=data["errors"],
        next_k=data["next_k"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        expected_status=expected_status,
    )
