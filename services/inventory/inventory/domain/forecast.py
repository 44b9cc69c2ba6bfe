"""Foresight: per item and day, the stock still usable on that day against the kits reserved for
visits from that day on. A day where the second exceeds the first is a projected shortfall."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True)
class DayProjection:
    day: date
    usable: Decimal  # on hand (not quarantined, not recalled) in lots valid on that day
    committed: Decimal  # reserved for visits on that day or later
    free: Decimal


def project(
    usable_lots: Iterable[tuple[UUID, date, Decimal]],
    committed: Iterable[tuple[UUID, date, Decimal]],
    days: Sequence[date],
) -> dict[UUID, list[DayProjection]]:
    """`usable_lots`: (item, expires on, usable quantity); `committed`: (item, visit day, quantity)."""
    lots_by_item: dict[UUID, list[tuple[date, Decimal]]] = {}
    for item, expires_on, quantity in usable_lots:
        lots_by_item.setdefault(item, []).append((expires_on, quantity))
    demand_by_item: dict[UUID, list[tuple[date, Decimal]]] = {}
    for item, day, quantity in committed:
        demand_by_item.setdefault(item, []).append((day, quantity))
    projection: dict[UUID, list[DayProjection]] = {}
    for item in sorted(set(lots_by_item) | set(demand_by_item)):
        lots = lots_by_item.get(item, [])
        demand = demand_by_item.get(item, [])
        projection[item] = [
            _day(
                day,
                sum((q for e, q in lots if e >= day), Decimal(0)),
                sum((q for d, q in demand if d >= day), Decimal(0)),
            )
            for day in days
        ]
    return projection


def _day(day: date, usable: Decimal, committed: Decimal) -> DayProjection:
    return DayProjection(day=day, usable=usable, committed=committed, free=usable - committed)


def first_shortfall(days: Sequence[DayProjection]) -> DayProjection | None:
    return next((day for day in days if day.free < 0), None)
