"""Deliveries, stock by lot and the ledger (JSON or CSV)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from clinic_shared.errors import InvalidInput
from clinic_shared.pagination import Page, PageParams
from clinic_shared.web import ERROR_RESPONSES, RequestModel, SaneDate, SaneDatetime, error_response
from inventory.api.common import (
    CLINIC,
    ClinicId,
    ClinicManager,
    ClinicStaff,
    Quantity,
    Settings,
    UnitOfWork,
)
from inventory.domain.stock import (
    LedgerReason,
    Lot,
)
from inventory.service import stock as service

router = APIRouter(responses=ERROR_RESPONSES)


# --- receiving and stock -------------------------------------------------------------------------------


class DeliveryIn(RequestModel):
    """Either the item, lot number and expiry, or a GS1 barcode carrying them (01 GTIN, 10 lot, 17 expiry)."""

    quantity: Quantity
    supplier: str | None = Field(default=None, max_length=120)
    item_id: UUID | None = None
    lot_number: str | None = Field(default=None, min_length=1, max_length=20, pattern=r"^[!-~]+$")
    expires_on: date | None = None
    barcode: str | None = Field(
        default=None, min_length=1, max_length=200, examples=["(01)09506000134352(17)281231(10)ABC123"]
    )

    def source(self) -> None:
        """The typed fields or a barcode, not both and not half: a clear 422 naming what is missing."""
        typed = {"item_id": self.item_id, "lot_number": self.lot_number, "expires_on": self.expires_on}
        if self.barcode is not None and any(value is not None for value in typed.values()):
            raise InvalidInput("give a barcode or the typed fields, not both", field="barcode")
        missing = [name for name, value in typed.items() if value is None]
        if self.barcode is None and missing:
            raise InvalidInput(f"give {', '.join(missing)} (or scan the barcode instead)", field=missing[0])


class LotOut(BaseModel):
    id: UUID
    clinic_id: UUID
    item_id: UUID
    lot_number: str
    expires_on: date
    on_hand: Decimal
    reserved: Decimal
    quarantined: Decimal
    available: Decimal = Field(description="on hand - reserved - quarantined")
    recalled: bool

    @classmethod
    def of(cls, lot: Lot) -> Self:
        return cls.model_validate(lot, from_attributes=True)


@router.post(
    "/clinics/{clinic_id}/deliveries",
    status_code=201,
    summary="Receive a delivery",
    tags=["stock"],
    responses={**CLINIC, 409: error_response("The lot is on record with another expiry"),
               422: error_response("Expired or expiring within the margin, bad barcode; `field` names it")},
)  # fmt: skip
async def receive(
    clinic_id: ClinicId, body: DeliveryIn, uow: UnitOfWork, principal: ClinicManager, configured: Settings
) -> LotOut:
    """Adds to the clinic's lot (created on its first delivery) and writes the ledger entry. Managers
    of the clinic and admins."""
    body.source()
    lot = await service.receive(
        uow,
        service.Delivery(
            clinic_id=clinic_id,
            quantity=body.quantity,
            supplier=body.supplier,
            received_by=principal.subject,
            item_id=body.item_id,
            lot_number=body.lot_number,
            expires_on=body.expires_on,
            barcode=body.barcode,
        ),
        margin_days=configured.receiving_expiry_margin_days,
        now=datetime.now(UTC),
    )
    return LotOut.of(lot)


@router.get("/clinics/{clinic_id}/stock", summary="Stock by item and lot", tags=["stock"], responses=CLINIC)
async def clinic_stock(
    clinic_id: ClinicId,
    uow: UnitOfWork,
    principal: ClinicStaff,
    page: PageParams,
    item_id: Annotated[UUID | None, Query()] = None,
    lot_number: Annotated[str | None, Query(min_length=1, max_length=20, pattern=r"^[!-~]+$")] = None,
    expiring_before: Annotated[SaneDate | None, Query(description="only lots expiring before this date")] = None,
) -> Page[LotOut]:
    lots = await service.stock(
        uow,
        clinic_id=clinic_id,
        item_id=item_id,
        lot_number=lot_number,
        expiring_before=expiring_before,
        offset=page.offset,
        limit=page.fetch,
    )
    return Page[LotOut].of([LotOut.of(lot) for lot in lots], page)


class LedgerEntryOut(BaseModel):
    id: int
    recorded_at: datetime
    item_id: UUID
    lot_id: UUID
    lot_number: str
    reason: LedgerReason
    on_hand_change: Decimal
    reserved_change: Decimal
    quarantined_change: Decimal
    appointment_id: UUID | None
    actor: str
    reference: str | None


class LedgerPage(BaseModel):
    items: list[LedgerEntryOut]
    next_after: int | None = Field(description="pass as `after` for the next page; null on the last page")


LEDGER_COLUMNS = list(LedgerEntryOut.model_fields)
# Free text a person typed (a supplier, a lot number, who did it): a spreadsheet would run a leading
# = + - @ as a formula, so such a cell is written with a quote in front. Numbers are left alone.
TEXT_COLUMNS = ("lot_number", "actor", "reference")


def _spreadsheet_safe(row: dict[str, Any]) -> dict[str, Any]:
    for column in TEXT_COLUMNS:
        value = row.get(column)
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            row[column] = "'" + value
    return row


@router.get(
    "/clinics/{clinic_id}/ledger",
    summary="Stock movements",
    tags=["stock"],
    responses={**CLINIC, 200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with `format=csv`"}},
)
async def clinic_ledger(
    clinic_id: ClinicId,
    uow: UnitOfWork,
    principal: ClinicManager,
    item_id: Annotated[UUID | None, Query()] = None,
    appointment_id: Annotated[UUID | None, Query()] = None,
    reason: Annotated[list[LedgerReason] | None, Query(description="any of these (repeatable)")] = None,
    since: Annotated[SaneDatetime | None, Query()] = None,
    until: Annotated[SaneDatetime | None, Query()] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="entries after this id (keyset pagination)")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Every change of the clinic's stock, oldest first: who, when, why and which appointment. Pages
    by `after` (the last id seen): the JSON answer's `next_after`, or the CSV's `X-Next-After`
    header. In CSV, text a person typed that starts like a formula is written with a leading `'`."""
    rows = await service.ledger(
        uow,
        clinic_id=clinic_id,
        item_id=item_id,
        appointment_id=appointment_id,
        reasons=reason or [],
        since=since,
        until=until,
        after_id=after,
        limit=limit + 1,
    )
    entries = [LedgerEntryOut.model_validate(row) for row in rows[:limit]]
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=LEDGER_COLUMNS)
        writer.writeheader()
        for entry in entries:
            writer.writerow(_spreadsheet_safe(entry.model_dump(mode="json")))
        headers = {"Content-Disposition": f'attachment; filename="ledger-{clinic_id}.csv"'}
        if len(rows) > limit:
            headers["X-Next-After"] = str(entries[-1].id)
        return Response(buffer.getvalue(), media_type="text/csv", headers=headers)
    return LedgerPage(items=entries, next_after=entries[-1].id if len(rows) > limit else None)
