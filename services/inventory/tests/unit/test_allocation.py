"""Allocating a visit's kit from lots: first expiry first out, valid on the visit day, all or nothing."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from inventory.domain.allocation import Allocated, LotStock, Missing, Need, Shortage, allocate

pytestmark = pytest.mark.unit

VISIT_DAY = date(2026, 5, 20)
CARTRIDGE = uuid.UUID(int=1)
CREAM = uuid.UUID(int=2)
GLOVES = uuid.UUID(int=3)


def _lot(item_id: UUID, lot_number: str, *, expires_on: date, available: str | int, usable: bool = True) -> LotStock:
    return LotStock(
        lot_id=uuid.uuid4(),
        item_id=item_id,
        lot_number=lot_number,
        expires_on=expires_on,
        available=Decimal(available),
        usable=usable,
    )


def _need(item_id: UUID, quantity: str | int) -> Need:
    return Need(item_id=item_id, quantity=Decimal(quantity))


def _taken(allocations: tuple[Allocated, ...] | Shortage) -> list[tuple[str, Decimal]]:
    assert isinstance(allocations, tuple)
    return [(a.lot_number, a.quantity) for a in allocations]


def test_the_earliest_expiring_valid_lot_is_taken_first() -> None:
    lots = [
        _lot(CARTRIDGE, "LATE", expires_on=date(2027, 1, 1), available=5),
        _lot(CARTRIDGE, "EARLY", expires_on=date(2026, 6, 1), available=5),
        _lot(CARTRIDGE, "MIDDLE", expires_on=date(2026, 9, 1), available=5),
    ]
    result = allocate([_need(CARTRIDGE, 2)], lots, visit_day=VISIT_DAY)
    assert result == (
        Allocated(
            lot_id=lots[1].lot_id,
            item_id=CARTRIDGE,
            lot_number="EARLY",
            expires_on=date(2026, 6, 1),
            quantity=Decimal(2),
        ),
    )


def test_a_lot_expiring_the_day_before_the_visit_is_skipped_but_one_expiring_on_the_day_is_used() -> None:
    lots = [
        _lot(CARTRIDGE, "DAY-BEFORE", expires_on=VISIT_DAY - timedelta(days=1), available=5),
        _lot(CARTRIDGE, "ON-THE-DAY", expires_on=VISIT_DAY, available=5),
        _lot(CARTRIDGE, "LATER", expires_on=VISIT_DAY + timedelta(days=1), available=5),
    ]
    assert _taken(allocate([_need(CARTRIDGE, 1)], lots, visit_day=VISIT_DAY)) == [("ON-THE-DAY", Decimal(1))]


def test_a_need_larger_than_one_lot_is_split_across_lots_in_expiry_order() -> None:
    lots = [
        _lot(CREAM, "B", expires_on=date(2026, 8, 1), available="10.5"),
        _lot(CREAM, "A", expires_on=date(2026, 7, 1), available="2.5"),
        _lot(CREAM, "C", expires_on=date(2026, 9, 1), available=10),
    ]
    result = allocate([_need(CREAM, "15")], lots, visit_day=VISIT_DAY)
    assert _taken(result) == [("A", Decimal("2.5")), ("B", Decimal("10.5")), ("C", Decimal(2))]


def test_lots_expiring_the_same_day_are_taken_in_lot_number_order() -> None:
    lots = [
        _lot(CARTRIDGE, "L-2", expires_on=date(2026, 7, 1), available=1),
        _lot(CARTRIDGE, "L-1", expires_on=date(2026, 7, 1), available=1),
    ]
    assert _taken(allocate([_need(CARTRIDGE, 2)], lots, visit_day=VISIT_DAY)) == [
        ("L-1", Decimal(1)),
        ("L-2", Decimal(1)),
    ]


def test_allocations_follow_the_order_of_the_needs() -> None:
    lots = [
        _lot(CARTRIDGE, "C-1", expires_on=date(2026, 7, 1), available=3),
        _lot(CREAM, "N-1", expires_on=date(2026, 6, 1), available=3),
        _lot(GLOVES, "G-1", expires_on=date(2026, 6, 1), available=3),
    ]
    needs = [_need(CREAM, 1), _need(CARTRIDGE, 1), _need(GLOVES, 1)]
    assert _taken(allocate(needs, lots, visit_day=VISIT_DAY)) == [
        ("N-1", Decimal(1)),
        ("C-1", Decimal(1)),
        ("G-1", Decimal(1)),
    ]


def test_needs_for_the_same_item_are_summed() -> None:
    lots = [
        _lot(CARTRIDGE, "C-1", expires_on=date(2026, 7, 1), available=2),
        _lot(CARTRIDGE, "C-2", expires_on=date(2026, 8, 1), available=2),
        _lot(CREAM, "N-1", expires_on=date(2026, 7, 1), available=2),
    ]
    needs = [_need(CARTRIDGE, 1), _need(CREAM, 1), _need(CARTRIDGE, 2)]
    assert _taken(allocate(needs, lots, visit_day=VISIT_DAY)) == [
        ("C-1", Decimal(2)),
        ("C-2", Decimal(1)),
        ("N-1", Decimal(1)),
    ]
    short = allocate([_need(CARTRIDGE, 3), _need(CARTRIDGE, 2)], lots, visit_day=VISIT_DAY)
    assert short == Shortage(
        reason="insufficient_stock",
        missing=(Missing(item_id=CARTRIDGE, required=Decimal(5), available=Decimal(4)),),
    )


def test_one_item_short_means_nothing_is_allocated() -> None:
    lots = [
        _lot(CARTRIDGE, "C-1", expires_on=date(2026, 7, 1), available=5),
        _lot(CREAM, "N-1", expires_on=date(2026, 7, 1), available=1),
    ]
    result = allocate([_need(CARTRIDGE, 1), _need(CREAM, 2)], lots, visit_day=VISIT_DAY)
    assert result == Shortage(
        reason="insufficient_stock",
        missing=(Missing(item_id=CREAM, required=Decimal(2), available=Decimal(1)),),
    )


def test_every_item_that_falls_short_is_listed_in_the_order_of_the_needs() -> None:
    lots = [
        _lot(CARTRIDGE, "C-1", expires_on=date(2026, 7, 1), available=1),
        _lot(CREAM, "N-1", expires_on=date(2026, 7, 1), available=1),
        _lot(GLOVES, "G-1", expires_on=date(2026, 7, 1), available=10),
    ]
    result = allocate([_need(GLOVES, 2), _need(CREAM, 3), _need(CARTRIDGE, 2)], lots, visit_day=VISIT_DAY)
    assert result == Shortage(
        reason="insufficient_stock",
        missing=(
            Missing(item_id=CREAM, required=Decimal(3), available=Decimal(1)),
            Missing(item_id=CARTRIDGE, required=Decimal(2), available=Decimal(1)),
        ),
    )


def test_quarantined_or_recalled_lots_are_never_taken() -> None:
    lots = [
        _lot(CARTRIDGE, "RECALLED", expires_on=date(2026, 6, 1), available=5, usable=False),
        _lot(CARTRIDGE, "GOOD", expires_on=date(2026, 7, 1), available=2),
    ]
    assert _taken(allocate([_need(CARTRIDGE, 2)], lots, visit_day=VISIT_DAY)) == [("GOOD", Decimal(2))]
    result = allocate([_need(CARTRIDGE, 3)], lots, visit_day=VISIT_DAY)
    assert result == Shortage(
        reason="insufficient_stock",
        missing=(Missing(item_id=CARTRIDGE, required=Decimal(3), available=Decimal(2)),),
    )


def test_no_valid_lot_when_what_stock_there_is_expired_before_the_visit_or_is_unusable() -> None:
    lots = [
        _lot(CARTRIDGE, "EXPIRED", expires_on=VISIT_DAY - timedelta(days=1), available=5),
        _lot(CREAM, "QUARANTINED", expires_on=date(2027, 1, 1), available=5, usable=False),
        _lot(GLOVES, "G-1", expires_on=date(2027, 1, 1), available=5),
    ]
    needs = [_need(CARTRIDGE, 1), _need(CREAM, 1), _need(GLOVES, 1), _need(uuid.UUID(int=9), 1)]
    result = allocate(needs, lots, visit_day=VISIT_DAY)
    assert isinstance(result, Shortage)
    assert result.reason == "no_valid_lot"
    assert [(m.item_id, m.available) for m in result.missing] == [
        (CARTRIDGE, Decimal(0)),
        (CREAM, Decimal(0)),
        (uuid.UUID(int=9), Decimal(0)),
    ]


def test_insufficient_stock_when_one_missing_item_has_a_valid_lot() -> None:
    lots = [
        _lot(CARTRIDGE, "EXPIRED", expires_on=VISIT_DAY - timedelta(days=1), available=5),
        _lot(CREAM, "N-1", expires_on=date(2027, 1, 1), available=1),
    ]
    result = allocate([_need(CARTRIDGE, 1), _need(CREAM, 2)], lots, visit_day=VISIT_DAY)
    assert isinstance(result, Shortage)
    assert result.reason == "insufficient_stock"


def test_a_valid_lot_with_everything_reserved_is_insufficient_stock_not_no_valid_lot() -> None:
    lots = [_lot(CARTRIDGE, "C-1", expires_on=date(2027, 1, 1), available=0)]
    assert allocate([_need(CARTRIDGE, 1)], lots, visit_day=VISIT_DAY) == Shortage(
        reason="insufficient_stock",
        missing=(Missing(item_id=CARTRIDGE, required=Decimal(1), available=Decimal(0)),),
    )


def test_lots_of_items_not_needed_are_left_alone() -> None:
    lots = [
        _lot(CREAM, "N-1", expires_on=date(2026, 6, 1), available=5),
        _lot(CARTRIDGE, "C-1", expires_on=date(2026, 7, 1), available=5),
    ]
    assert _taken(allocate([_need(CARTRIDGE, 1)], lots, visit_day=VISIT_DAY)) == [("C-1", Decimal(1))]


def test_the_same_input_in_any_order_gives_the_same_allocation() -> None:
    lots = [_lot(CARTRIDGE, f"C-{n}", expires_on=date(2026, 6, 1 + n % 3), available=n % 4 + 1) for n in range(12)]
    needs = [_need(CARTRIDGE, 9)]
    expected = allocate(needs, lots, visit_day=VISIT_DAY)
    shuffler = random.Random(7)
    for _ in range(20):
        shuffled = lots[:]
        shuffler.shuffle(shuffled)
        assert allocate(needs, shuffled, visit_day=VISIT_DAY) == expected


def _eligible(lot: LotStock, visit_day: date) -> bool:
    return lot.usable and lot.available > 0 and lot.expires_on >= visit_day


def _random_case(rng: random.Random) -> tuple[list[Need], list[LotStock]]:
    items = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(rng.randint(1, 4))]
    lots = [
        LotStock(
            lot_id=uuid.UUID(int=rng.getrandbits(128)),
            item_id=rng.choice(items),
            lot_number=f"L-{rng.randint(1, 5)}",
            expires_on=VISIT_DAY + timedelta(days=rng.randint(-3, 5)),
            available=Decimal(rng.randint(0, 12)) / rng.choice([1, 2, 4]),
            usable=rng.random() > 0.2,
        )
        for _ in range(rng.randint(0, 10))
    ]
    needs = [
        Need(item_id=rng.choice(items), quantity=Decimal(rng.randint(1, 16)) / rng.choice([1, 2]))
        for _ in range(rng.randint(1, 5))
    ]
    return needs, lots


@pytest.mark.parametrize("seed", range(400))
def test_allocations_hold_the_rules_on_random_stock(seed: int) -> None:
    needs, lots = _random_case(random.Random(seed))
    required: dict[UUID, Decimal] = defaultdict(Decimal)
    for need in needs:
        required[need.item_id] += need.quantity
    in_stock: dict[UUID, Decimal] = defaultdict(Decimal)
    for lot in lots:
        if _eligible(lot, VISIT_DAY):
            in_stock[lot.item_id] += lot.available
    by_id = {lot.lot_id: lot for lot in lots}

    result = allocate(needs, lots, visit_day=VISIT_DAY)

    if isinstance(result, Shortage):
        assert result.missing
        assert {m.item_id for m in result.missing} == {item for item in required if in_stock[item] < required[item]}
        for missing in result.missing:
            assert missing.required == required[missing.item_id]
            assert missing.available == in_stock[missing.item_id] < missing.required
        return
    taken_from: dict[UUID, Decimal] = defaultdict(Decimal)
    allocated: dict[UUID, Decimal] = defaultdict(Decimal)
    for allocation in result:
        lot = by_id[allocation.lot_id]
        assert _eligible(lot, VISIT_DAY)
        assert (allocation.item_id, allocation.lot_number, allocation.expires_on) == (
            lot.item_id,
            lot.lot_number,
            lot.expires_on,
        )
        assert allocation.quantity > 0
        taken_from[lot.lot_id] += allocation.quantity
        allocated[allocation.item_id] += allocation.quantity
    assert all(quantity <= by_id[lot_id].available for lot_id, quantity in taken_from.items())
    assert allocated == required
    assert [a.item_id for a in result] == sorted((a.item_id for a in result), key=list(required).index)
    for item_id in required:
        fefo = sorted(
            (lot for lot in lots if lot.item_id == item_id and _eligible(lot, VISIT_DAY)),
            key=lambda lot: (lot.expires_on, lot.lot_number, lot.lot_id),
        )
        taken = [a for a in result if a.item_id == item_id]
        assert [a.lot_id for a in taken] == [lot.lot_id for lot in fefo[: len(taken)]]
        assert all(a.quantity == by_id[a.lot_id].available for a in taken[:-1])
