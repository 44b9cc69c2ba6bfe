"""Inventory's HTTP API for clinic managers: the item catalogue, deliveries, stock by lot, the ledger
(also as CSV), kits, adjustments, counts, transfers, opened tubes, reorder points, the forecast and
recalls. Every clinic route is scoped: a manager of one clinic cannot read or change another's stock
(403)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from clinic_shared.auth import STAFF_ROLES, Principal, Role, require_roles
from clinic_shared.errors import DomainError
from clinic_shared.pagination import Page, PageParams
from clinic_shared.projections.clinics import clinic_projection_router
from clinic_shared.web import ERROR_RESPONSES, RequestModel, error_response
from inventory.adapters.movements import Transfer
from inventory.adapters.repositories import ClinicNotKnown
from inventory.adapters.uow import InventoryUnitOfWork
from inventory.domain import gs1
from inventory.domain.forecast import first_shortfall
from inventory.domain.items import GtinTaken, InvalidItem, Item, ItemNotFound, Kind, Unit
from inventory.domain.kits import Area, InvalidKit, KitLine
from inventory.domain.stock import (
    AdjustmentReason,
    BelowReserved,
    InvalidQuantity,
    InvalidTransfer,
    LedgerReason,
    Lot,
    LotDetailsConflict,
    LotExpired,
    LotIsRecalled,
    LotNotFound,
    TransferAlreadyReceived,
    TransferNotFound,
)
from inventory.domain.tubes import NotATube, NotEnoughLeft, OpenedTube, TubeNotFound
from inventory.service import alerts, movements, recalls, tubes
from inventory.service import stock as service
from inventory.settings import InventorySettings

ERROR_STATUS: dict[type[DomainError], int] = {
    ClinicNotKnown: 404,
    ItemNotFound: 404,
    LotNotFound: 404,
    GtinTaken: 409,
    LotDetailsConflict: 409,
    LotIsRecalled: 409,
    InvalidItem: 422,
    InvalidKit: 422,
    InvalidQuantity: 422,
    LotExpired: 422,
    gs1.InvalidBarcode: 422,
    BelowReserved: 409,
    InvalidTransfer: 422,
    TransferNotFound: 404,
    TransferAlreadyReceived: 409,
    recalls.AlreadyRecalled: 409,
    service.BarcodeIncomplete: 422,
    NotATube: 422,
    TubeNotFound: 404,
    NotEnoughLeft: 409,
}

router = APIRouter(responses=ERROR_RESPONSES)
Admin = Annotated[Principal, require_roles(Role.ADMIN)]
Manager = Annotated[Principal, require_roles(Role.CLINIC_MANAGER, Role.ADMIN)]
Staff = Annotated[Principal, require_roles(*STAFF_ROLES)]
ClinicId = Annotated[UUID, Path(description="the clinic's id")]
CLINIC: dict[int | str, dict[str, Any]] = {
    404: error_response("Unknown clinic"),
    403: error_response("Not one of your clinics"),
}
Quantity = Annotated[Decimal, Field(gt=0, le=Decimal("1000000"), max_digits=12, decimal_places=3)]


def unit_of_work(request: Request) -> InventoryUnitOfWork:
    return InventoryUnitOfWork(request.app.state.session_factory, producer=request.app.state.settings.service_name)


def settings(request: Request) -> InventorySettings:
    configured: InventorySettings = request.app.state.settings
    return configured


UnitOfWork = Annotated[InventoryUnitOfWork, Depends(unit_of_work)]
Settings = Annotated[InventorySettings, Depends(settings)]


# --- items -------------------------------------------------------------------------------------------


class ItemIn(RequestModel):
    name: str = Field(min_length=2, max_length=120, examples=["Sterile cartridge, 36-pin"])
    kind: Kind
    unit: Unit
    gtin: str | None = Field(default=None, pattern=r"^[0-9]{14}$", description="GS1 GTIN-14")
    needle_configuration: str | None = Field(default=None, max_length=40, examples=["36-pin"])
    fits_device_models: list[str] = Field(default_factory=list, max_length=20)
    active_ingredient: str | None = Field(default=None, max_length=80, examples=["lidocaine"])
    concentration_percent: Decimal | None = Field(default=None, gt=0, le=100, max_digits=5, decimal_places=2)
    tube_grams: Decimal | None = Field(default=None, gt=0, le=1000, max_digits=8, decimal_places=2)


class ItemOut(ItemIn):
    id: UUID

    @classmethod
    def of(cls, item: Item) -> Self:
        return cls(**{**asdict(item), "fits_device_models": list(item.fits_device_models)})


@router.post(
    "/items",
    status_code=201,
    summary="Add an item to the catalogue",
    tags=["items"],
    responses={409: error_response("Another item has this GTIN")},
)
async def add_item(body: ItemIn, uow: UnitOfWork, principal: Admin) -> ItemOut:
    """The chain's catalogue, shared by every clinic (admins)."""
    del principal
    item = Item.define(**{**body.model_dump(), "fits_device_models": tuple(body.fits_device_models)})
    return ItemOut.of(await service.add_item(uow, item))


@router.get("/items", summary="The item catalogue", tags=["items"])
async def list_items(uow: UnitOfWork, principal: Staff, page: PageParams) -> Page[ItemOut]:
    del principal
    items = await service.list_items(uow, offset=page.offset, limit=page.fetch)
    return Page[ItemOut].of([ItemOut.of(item) for item in items], page)


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

    @model_validator(mode="after")
    def _fields_or_barcode(self) -> Self:
        typed = (self.item_id, self.lot_number, self.expires_on)
        if self.barcode is None and any(value is None for value in typed):
            raise ValueError("give item_id, lot_number and expires_on, or a barcode")
        if self.barcode is not None and any(value is not None for value in typed):
            raise ValueError("give a barcode or the typed fields, not both")
        return self


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
    clinic_id: ClinicId, body: DeliveryIn, uow: UnitOfWork, principal: Manager, configured: Settings
) -> LotOut:
    """Adds to the clinic's lot (created on its first delivery) and writes the ledger entry. Managers
    of the clinic and admins."""
    principal.ensure_clinic(clinic_id)
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
    principal: Staff,
    page: PageParams,
    item_id: Annotated[UUID | None, Query()] = None,
    lot_number: Annotated[str | None, Query(max_length=20)] = None,
    expiring_before: Annotated[date | None, Query(description="only lots expiring before this date")] = None,
) -> Page[LotOut]:
    principal.ensure_clinic(clinic_id)
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
    principal: Manager,
    item_id: Annotated[UUID | None, Query()] = None,
    appointment_id: Annotated[UUID | None, Query()] = None,
    reason: Annotated[list[LedgerReason] | None, Query(description="any of these (repeatable)")] = None,
    since: Annotated[AwareDatetime | None, Query()] = None,
    until: Annotated[AwareDatetime | None, Query()] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="entries after this id (keyset pagination)")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Every change of the clinic's stock, oldest first: who, when, why and which appointment. Pages
    by `after` (the last id seen): the JSON answer's `next_after`, or the CSV's `X-Next-After`
    header. In CSV, text a person typed that starts like a formula is written with a leading `'`."""
    principal.ensure_clinic(clinic_id)
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


# --- kits ----------------------------------------------------------------------------------------------


class KitLineIn(RequestModel):
    item_id: UUID
    quantity: Quantity


class KitsOut(BaseModel):
    kits: dict[Area, list[KitLineIn]] = Field(description="per area: what one visit uses")


def _kits_out(kits: dict[Area, list[KitLine]]) -> KitsOut:
    return KitsOut(
        kits={
            area: [KitLineIn(item_id=line.item_id, quantity=line.quantity) for line in lines]
            for area, lines in kits.items()
        }
    )


@router.get("/clinics/{clinic_id}/kits", summary="The clinic's kits", tags=["kits"], responses=CLINIC)
async def clinic_kits(clinic_id: ClinicId, uow: UnitOfWork, principal: Staff) -> KitsOut:
    """Per area, the clinic's own kit where it has one, else the chain's default."""
    principal.ensure_clinic(clinic_id)
    return _kits_out(await service.kits(uow, clinic_id=clinic_id))


@router.put("/clinics/{clinic_id}/kits/{area}", summary="Set the clinic's kit for an area", tags=["kits"],
            responses=CLINIC)  # fmt: skip
async def set_clinic_kit(
    clinic_id: ClinicId,
    area: Area,
    body: Annotated[list[KitLineIn], Field(max_length=20)],
    uow: UnitOfWork,
    principal: Manager,
) -> KitsOut:
    """Replaces the clinic's kit for the area; an empty list goes back to the chain's default."""
    principal.ensure_clinic(clinic_id)
    lines = [KitLine(item_id=line.item_id, quantity=line.quantity) for line in body]
    return _kits_out(await service.set_kit(uow, clinic_id=clinic_id, area=area, lines=lines))


@router.put(
    "/kits/defaults/{area}",
    summary="Set the chain's default kit for an area",
    tags=["kits"],
    responses={404: error_response("Unknown item")},
)
async def set_default_kit(
    area: Area, body: Annotated[list[KitLineIn], Field(min_length=1, max_length=20)], uow: UnitOfWork, principal: Admin
) -> KitsOut:
    del principal
    lines = [KitLine(item_id=line.item_id, quantity=line.quantity) for line in body]
    return _kits_out(await service.set_kit(uow, clinic_id=None, area=area, lines=lines))


# --- managing stock --------------------------------------------------------------------------------


class AdjustmentIn(RequestModel):
    lot_id: UUID
    change: Annotated[
        Decimal, Field(ge=Decimal("-1000000"), le=Decimal("1000000"), max_digits=12, decimal_places=3)
    ] = Field(description="signed: negative takes stock away", examples=["-1"])
    reason: AdjustmentReason


@router.post(
    "/clinics/{clinic_id}/adjustments",
    summary="Adjust a lot's stock",
    tags=["managing stock"],
    responses={**CLINIC, 409: error_response("Would go below what is reserved for booked visits")},
)
async def adjust(clinic_id: ClinicId, body: AdjustmentIn, uow: UnitOfWork, principal: Manager) -> LotOut:
    """Damaged packaging, dropped or contaminated, opened but unused, expired disposal, count
    correction. Never below zero (422) or below what is reserved (409)."""
    principal.ensure_clinic(clinic_id)
    lot = await movements.adjust(
        uow, clinic_id=clinic_id, lot_id=body.lot_id, change=body.change, reason=body.reason, actor=principal.subject
    )
    return LotOut.of(lot)


class CountLineIn(RequestModel):
    lot_id: UUID
    counted: Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), max_digits=12, decimal_places=3)]


class CountIn(RequestModel):
    lines: list[CountLineIn] = Field(min_length=1, max_length=500)


@router.post("/clinics/{clinic_id}/counts", summary="Submit a stock count", tags=["managing stock"],
             responses={**CLINIC, 409: error_response("A count below what is reserved")})  # fmt: skip
async def submit_count(clinic_id: ClinicId, body: CountIn, uow: UnitOfWork, principal: Manager) -> list[LotOut]:
    """Counted quantities per lot; every variance becomes a `count_correction` in the ledger. All
    lines or none."""
    principal.ensure_clinic(clinic_id)
    lots = await movements.count(
        uow,
        clinic_id=clinic_id,
        lines=[movements.Counted(lot_id=line.lot_id, counted=line.counted) for line in body.lines],
        actor=principal.subject,
    )
    return [LotOut.of(lot) for lot in lots]


class TransferIn(RequestModel):
    to_clinic_id: UUID
    lot_id: UUID
    quantity: Quantity


class TransferOut(BaseModel):
    id: UUID
    from_clinic_id: UUID
    to_clinic_id: UUID
    item_id: UUID
    lot_number: str
    expires_on: date
    quantity: Decimal
    status: Literal["in_transit", "received"]
    sent_by: str
    sent_at: datetime
    received_by: str | None
    received_at: datetime | None

    @classmethod
    def of(cls, transfer: Transfer) -> Self:
        return cls.model_validate(transfer, from_attributes=True)


@router.post(
    "/clinics/{clinic_id}/transfers",
    status_code=201,
    summary="Send stock to another clinic",
    tags=["managing stock"],
    responses={**CLINIC, 409: error_response("Would go below what is reserved for booked visits")},
)
async def send_transfer(clinic_id: ClinicId, body: TransferIn, uow: UnitOfWork, principal: Manager) -> TransferOut:
    """Leaves this clinic's stock now; in transit until the other clinic receives it."""
    principal.ensure_clinic(clinic_id)
    transfer = await movements.send_transfer(
        uow, from_clinic_id=clinic_id, to_clinic_id=body.to_clinic_id, lot_id=body.lot_id, quantity=body.quantity,
        actor=principal.subject,
    )  # fmt: skip
    return TransferOut.of(transfer)


@router.post("/clinics/{clinic_id}/transfers/{transfer_id}/receive", summary="Receive a transfer",
             tags=["managing stock"], responses={**CLINIC, 409: error_response("Received already")})  # fmt: skip
async def receive_transfer(clinic_id: ClinicId, transfer_id: UUID, uow: UnitOfWork, principal: Manager) -> LotOut:
    principal.ensure_clinic(clinic_id)
    lot = await movements.receive_transfer(uow, transfer_id=transfer_id, clinic_id=clinic_id, actor=principal.subject)
    return LotOut.of(lot)


@router.get("/clinics/{clinic_id}/transfers", summary="Transfers from and to the clinic", tags=["managing stock"],
            responses=CLINIC)  # fmt: skip
async def clinic_transfers(
    clinic_id: ClinicId,
    uow: UnitOfWork,
    principal: Manager,
    page: PageParams,
    status: Annotated[Literal["in_transit", "received"] | None, Query()] = None,
) -> Page[TransferOut]:
    principal.ensure_clinic(clinic_id)
    transfers = await movements.list_transfers(uow, clinic_id=clinic_id, status=status, offset=page.offset,
                                               limit=page.fetch)  # fmt: skip
    return Page[TransferOut].of([TransferOut.of(t) for t in transfers], page)


class ReorderPointIn(RequestModel):
    level: Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), max_digits=12, decimal_places=3)]


@router.put("/clinics/{clinic_id}/reorder-points/{item_id}", summary="Set an item's reorder point",
            tags=["alerts"], responses=CLINIC)  # fmt: skip
async def set_reorder_point(
    clinic_id: ClinicId, item_id: UUID, body: ReorderPointIn, uow: UnitOfWork, principal: Manager
) -> ReorderPointIn:
    """`stock low` goes out once each time the clinic's available stock of the item falls below it."""
    principal.ensure_clinic(clinic_id)
    await movements.set_reorder_point(uow, clinic_id=clinic_id, item_id=item_id, level=body.level)
    return body


class ForecastDayOut(BaseModel):
    day: date
    usable: Decimal = Field(description="on hand in lots still valid that day, not quarantined or recalled")
    committed: Decimal = Field(description="reserved for visits that day or later")
    free: Decimal


class ItemForecastOut(BaseModel):
    item_id: UUID
    first_shortfall: date | None
    days: list[ForecastDayOut]


@router.get("/clinics/{clinic_id}/forecast", summary="Reserved demand against usable stock", tags=["alerts"],
            responses=CLINIC)  # fmt: skip
async def clinic_forecast(
    clinic_id: ClinicId,
    uow: UnitOfWork,
    principal: Manager,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> list[ItemForecastOut]:
    """Per item and day: what is still usable that day against the kits reserved for visits from
    that day on; `first_shortfall` is the first day the second exceeds the first."""
    principal.ensure_clinic(clinic_id)
    projection = await alerts.forecast(uow, clinic_id=clinic_id, days=days)
    return [
        ItemForecastOut(
            item_id=item_id,
            first_shortfall=short.day if (short := first_shortfall(item_days)) else None,
            days=[ForecastDayOut(day=d.day, usable=d.usable, committed=d.committed, free=d.free) for d in item_days],
        )
        for item_id, item_days in projection.items()
    ]


class RecallIn(RequestModel):
    item_id: UUID
    lot_number: str = Field(min_length=1, max_length=20)
    reason_code: str | None = Field(default=None, max_length=64, pattern=r"^[a-z_]+$")


class AffectedOut(BaseModel):
    appointment_id: UUID
    clinic_id: UUID


class RecallOut(BaseModel):
    recall_id: UUID
    quarantined: dict[UUID, Decimal] = Field(description="per clinic, the quantity now quarantined")
    reallocated_appointments: list[UUID] = Field(description="future visits whose kit moved to other lots")
    short_appointments: list[UUID] = Field(description="future visits left short (a shortfall was announced)")
    treated_appointments: list[AffectedOut] = Field(description="completed visits treated with this lot")


@router.post(
    "/recalls",
    status_code=201,
    summary="Recall a lot across the chain",
    tags=["recalls"],
    responses={404: error_response("No clinic holds this lot"), 409: error_response("Recalled before")},
)
async def recall(body: RecallIn, uow: UnitOfWork, principal: Admin) -> RecallOut:
    outcome = await recalls.recall_lot(
        uow, item_id=body.item_id, lot_number=body.lot_number, reason_code=body.reason_code, actor=principal.subject
    )
    return RecallOut(
        recall_id=outcome.recall_id,
        quarantined=outcome.quarantined,
        reallocated_appointments=outcome.reallocated,
        short_appointments=outcome.short,
        treated_appointments=[AffectedOut(appointment_id=a, clinic_id=c) for a, c in outcome.treated],
    )


class OpenedTubeOut(BaseModel):
    id: UUID
    lot_id: UUID
    lot_number: str
    item_id: UUID
    grams_left: Decimal
    opened_at: datetime
    finished_at: datetime | None
    lot_recalled: bool = Field(description="its lot was recalled since: put the tube aside")

    @classmethod
    def of(cls, tube: OpenedTube) -> Self:
        return cls.model_validate(tube, from_attributes=True)


class TubeUseIn(RequestModel):
    grams: Annotated[Decimal, Field(gt=0, le=1000, max_digits=8, decimal_places=2)]


@router.post(
    "/clinics/{clinic_id}/lots/{lot_id}/open-tube",
    status_code=201,
    summary="Open a tube of cream",
    tags=["managing stock"],
    responses={**CLINIC, 409: error_response("Every tube of the lot is reserved")},
)
async def open_tube(clinic_id: ClinicId, lot_id: UUID, uow: UnitOfWork, principal: Staff) -> OpenedTubeOut:
    """One tube leaves the lot's stock and is tracked by the grams left in it (numbing cream counted
    in tubes)."""
    principal.ensure_clinic(clinic_id)
    tube = await tubes.open_tube(
        uow, clinic_id=clinic_id, lot_id=lot_id, actor=principal.subject, now=datetime.now(UTC)
    )
    return OpenedTubeOut.of(tube)


@router.post("/clinics/{clinic_id}/opened-tubes/{tube_id}/use", summary="Take grams from an opened tube",
             tags=["managing stock"], responses={**CLINIC, 409: error_response("Not that much left")})  # fmt: skip
async def use_tube(
    clinic_id: ClinicId, tube_id: UUID, body: TubeUseIn, uow: UnitOfWork, principal: Staff
) -> OpenedTubeOut:
    principal.ensure_clinic(clinic_id)
    return OpenedTubeOut.of(await tubes.use(uow, clinic_id=clinic_id, tube_id=tube_id, grams=body.grams))


@router.get("/clinics/{clinic_id}/opened-tubes", summary="Opened tubes and the grams left",
            tags=["managing stock"], responses=CLINIC)  # fmt: skip
async def opened(clinic_id: ClinicId, uow: UnitOfWork, principal: Staff) -> list[OpenedTubeOut]:
    principal.ensure_clinic(clinic_id)
    return [OpenedTubeOut.of(tube) for tube in await tubes.open_tubes(uow, clinic_id=clinic_id)]


ROUTERS = (clinic_projection_router(), router)
