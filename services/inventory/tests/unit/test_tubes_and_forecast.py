"""Opening and using cream tubes, and the forecast of reserved kits against usable stock."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from inventory.domain.forecast import first_shortfall, project
from inventory.domain.items import Item
from inventory.domain.stock import BelowReserved, Lot, LotExpired, LotIsRecalled
from inventory.domain.tubes import NotATube, NotEnoughLeft, OpenedTube, check_openable

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 24)
CREAM = Item.define(name="Cream", kind="numbing_cream", unit="tube", active_ingredient="lidocaine",
                    concentration_percent=Decimal(4), tube_grams=Decimal(30))  # fmt: skip
LOT = Lot(id=uuid.uuid4(), clinic_id=uuid.uuid4(), item_id=CREAM.id, lot_number="TB-1",
          expires_on=TODAY + timedelta(days=90), on_hand=Decimal(2), reserved=Decimal(0),
          quarantined=Decimal(0), recalled=False)  # fmt: skip


def test_a_tube_is_opened_only_from_a_usable_lot_of_cream_counted_in_tubes() -> None:
    assert check_openable(CREAM, LOT, today=TODAY) == 30
    grams = Item.define(name="Cream g", kind="numbing_cream", unit="gram", active_ingredient="lidocaine",
                        concentration_percent=Decimal(4))  # fmt: skip
    with pytest.raises(NotATube):
        check_openable(grams, LOT, today=TODAY)
    with pytest.raises(LotIsRecalled):
        check_openable(CREAM, replace(LOT, recalled=True), today=TODAY)
    with pytest.raises(LotExpired):
        check_openable(CREAM, replace(LOT, expires_on=TODAY - timedelta(days=1)), today=TODAY)
    with pytest.raises(BelowReserved):
        check_openable(CREAM, replace(LOT, reserved=Decimal(2)), today=TODAY)


def test_an_opened_tube_is_used_down_to_nothing_but_never_below_or_after_a_recall() -> None:
    tube = OpenedTube(
        id=uuid.uuid4(), lot_id=LOT.id, lot_number="TB-1", item_id=CREAM.id, grams_left=Decimal(30),
        opened_at=datetime.now(UTC), finished_at=None, lot_recalled=False,
    )  # fmt: skip
    assert tube.after_using(Decimal("12.5")) == Decimal("17.5")
    assert tube.after_using(Decimal(30)) == 0
    with pytest.raises(NotEnoughLeft):
        tube.after_using(Decimal("30.01"))
    with pytest.raises(LotIsRecalled):
        replace(tube, lot_recalled=True).after_using(Decimal(1))


def test_the_forecast_finds_the_first_day_reserved_kits_exceed_what_is_still_usable() -> None:
    item = uuid.uuid4()
    days = [TODAY + timedelta(days=n) for n in range(6)]
    # 4 usable until day 2 (then that lot expires), 1 usable until day 10; 3 reserved for day 4.
    usable = [(item, TODAY + timedelta(days=2), Decimal(4)), (item, TODAY + timedelta(days=10), Decimal(1))]
    committed = [(item, TODAY + timedelta(days=4), Decimal(3))]

    projection = project(usable, committed, days)[item]

    assert [(d.usable, d.committed) for d in projection[:4]] == [(5, 3), (5, 3), (5, 3), (1, 3)]
    short = first_shortfall(projection)
    assert short is not None
    assert (short.day, short.free) == (TODAY + timedelta(days=3), -2)
    assert first_shortfall(project(usable, [], days)[item]) is None
