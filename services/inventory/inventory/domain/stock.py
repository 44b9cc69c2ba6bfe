"""Stock by clinic and lot, and the rules for changing it. Every change is also a ledger entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal
from uuid import UUID

from clinic_shared.errors import Conflict, InvalidInput, NotFound

LedgerReason = Literal[
    "received",
    "reserved",
    "released",
    "consumed",
    "reallocated",
    "recalled",
    "adjusted_damaged_packaging",
    "adjusted_dropped_or_contaminated",
    "adjusted_opened_unused",
    "adjusted_expired_disposal",
    "adjusted_count_correction",
    "transfer_out",
    "transfer_in",
    "opened",
]


class LotNotFound(NotFound):
    code = "lot_not_found"


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"


class LotExpired(InvalidInput):
    """Refused on receipt: expired, or expiring within the clinic chain's margin."""

    code = "lot_expired"


class BelowReserved(Conflict):
    """Stock may not fall below what is reserved for booked visits (or quarantined)."""

    code = "stock_below_reserved"


class InvalidTransfer(InvalidInput):
    code = "invalid_transfer"


class TransferNotFound(NotFound):
    code = "transfer_not_found"


class TransferAlreadyReceived(Conflict):
    code = "transfer_already_received"


AdjustmentReason = Literal[
    "damaged_packaging", "dropped_or_contaminated", "opened_unused", "expired_disposal", "count_correction"
]


class LotIsRecalled(Conflict):
    """A delivery of a recalled lot is refused at the door."""

    code = "lot_recalled"


class LotDetailsConflict(Conflict):
    """The same lot number arrived again with another expiry date: one of the two is wrong."""

    code = "lot_details_conflict"


@dataclass(frozen=True)
class Receipt:
    clinic_id: UUID
    item_id: UUID
    lot_number: str
    expires_on: date
    quantity: Decimal
    supplier: str | None
    received_by: str


def check_receipt(receipt: Receipt, *, today: date, margin_days: int) -> None:
    if receipt.quantity <= 0:
        raise InvalidQuantity("receive a positive quantity", field="quantity")
    if receipt.expires_on < today:
        raise LotExpired(f"this lot expired on {receipt.expires_on:%Y-%m-%d}", field="expires_on")
    if receipt.expires_on < today + timedelta(days=margin_days):
        raise LotExpired(
            f"this lot expires on {receipt.expires_on:%Y-%m-%d}, within {margin_days} days: too soon to accept",
            field="expires_on",
        )


@dataclass(frozen=True)
class Lot:
    id: UUID
    clinic_id: UUID
    item_id: UUID
    lot_number: str
    expires_on: date
    on_hand: Decimal
    reserved: Decimal
    quarantined: Decimal
    recalled: bool

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved - self.quarantined

    def check_change(self, change: Decimal, *, field: str = "change") -> None:
        """A manual change of what is on hand: never below zero, never below what is reserved or held."""
        if change == 0:
            raise InvalidQuantity("a change of zero changes nothing", field=field)
        after = self.on_hand + change
        if after < 0:
            raise InvalidQuantity(
                f"lot {self.lot_number} has {self.on_hand} on hand; it cannot go below zero", field=field
            )
        if after < self.reserved + self.quarantined:
            raise BelowReserved(
                f"lot {self.lot_number} has {self.reserved} reserved for booked visits and {self.quarantined} "
                "quarantined; stock cannot go below that",
                field=field,
            )
