"""Opened tubes of numbing cream: a cream counted in tubes leaves the lot's stock one tube at a time
when it is opened; the opened tube is then used down by the gram until it is finished."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from clinic_shared.errors import Conflict, InvalidInput, NotFound
from inventory.domain.items import Item
from inventory.domain.stock import Lot, LotExpired, LotIsRecalled


class NotATube(InvalidInput):
    code = "not_a_tube"


class TubeNotFound(NotFound):
    code = "tube_not_found"


class NotEnoughLeft(Conflict):
    code = "not_enough_left"


def check_openable(item: Item, lot: Lot, *, today: date) -> Decimal:
    """The grams a new tube of this lot holds, if one may be opened: cream counted in tubes, from a
    lot that is neither recalled nor expired, with a tube not reserved for a visit."""
    if item.kind != "numbing_cream" or item.unit != "tube" or item.tube_grams is None:
        raise NotATube("only numbing cream counted in tubes (with a tube size) is opened", field="lot_id")
    if lot.recalled:
        raise LotIsRecalled(f"lot {lot.lot_number} is recalled; it is not to be used", field="lot_id")
    if lot.expires_on < today:
        raise LotExpired(f"lot {lot.lot_number} expired on {lot.expires_on:%Y-%m-%d}", field="lot_id")
    lot.check_change(Decimal(-1), field="lot_id")
    return item.tube_grams


@dataclass(frozen=True)
class OpenedTube:
    id: UUID
    lot_id: UUID
    lot_number: str
    item_id: UUID
    grams_left: Decimal
    opened_at: datetime
    finished_at: datetime | None
    lot_recalled: bool

    def after_using(self, grams: Decimal) -> Decimal:
        """The grams left once `grams` are taken."""
        if grams <= 0:
            raise InvalidInput("use a positive number of grams", field="grams")
        if self.lot_recalled:
            raise LotIsRecalled(f"lot {self.lot_number} was recalled; put this tube aside", field="tube_id")
        if self.finished_at is not None or self.grams_left < grams:
            raise NotEnoughLeft(f"this tube has {self.grams_left} g left", field="grams")
        return self.grams_left - grams
