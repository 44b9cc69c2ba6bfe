"""Ratios as /work/shared/PERFORMANCE.md wants them: per interleaved round, subject / baseline; the
median of those ratios with its spread; a row whose ratios spread more than 10% is rejected."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

MAX_SPREAD = 0.10


@dataclass(frozen=True)
class Target:
    floor: float
    goal: float


# PERFORMANCE.md, booking rows.
RATIO_TARGETS = {"B1": Target(0.35, 0.60), "B2": Target(0.8, 1.0), "S1": Target(0.30, 0.45)}

# PERFORMANCE.md, latency table: (p50 ms, p99 ms) at 50% of the measured maximum.
LATENCY_TARGETS = {
    "book a visit": (5.0, 25.0),
    "availability, 1 practitioner x 14 days": (10.0, 40.0),
    "availability, 5 practitioners x 90 days": (60.0, 200.0),
}


@dataclass
class RatioRow:
    id: str
    what: str
    subject: str
    baseline: str
    subject_rates: list[float] = field(default_factory=list)
    baseline_rates: list[float] = field(default_factory=list)
    target: Target | None = None  # None: informational, not gated

    @property
    def ratios(self) -> list[float]:
        return [s / b for s, b in zip(self.subject_rates, self.baseline_rates, strict=True) if b > 0]

    @property
    def median(self) -> float:
        return statistics.median(self.ratios) if self.ratios else float("nan")

    @property
    def spread(self) -> float:
        """(max - min) / median of the per-round ratios."""
        ratios = self.ratios
        return (max(ratios) - min(ratios)) / self.median if len(ratios) > 1 and self.median else 0.0

    @property
    def accepted(self) -> bool:
        return self.spread <= MAX_SPREAD

    @property
    def verdict(self) -> str:
        if not self.accepted:
            return f"REJECTED: ratios spread {self.spread:.0%} > {MAX_SPREAD:.0%}"
        if self.target is None:
            return "informational"
        if self.median >= self.target.goal:
            return "meets goal"
        if self.median >= self.target.floor:
            return "meets floor"
        return "BELOW FLOOR"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "what": self.what,
            "subject": self.subject,
            "baseline": self.baseline,
            "subject_rates_per_s": [round(r, 1) for r in self.subject_rates],
            "baseline_rates_per_s": [round(r, 1) for r in self.baseline_rates],
            "ratios": [round(r, 4) for r in self.ratios],
            "median_ratio": round(self.median, 4),
            "spread": round(self.spread, 4),
            "accepted": self.accepted,
            "floor": self.target.floor if self.target else None,
            "goal": self.target.goal if self.target else None,
            "verdict": self.verdict,
        }
