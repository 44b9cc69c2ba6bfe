"""Inventory's half of the appointment saga: reserve the kit when a visit is requested (all of it or
nothing, first expiry first out, from lots valid on the visit day), release it when the visit is
cancelled, rejected or missed, consume it when the visit is completed, and re-check it when the visit
moves.

Every appointment has one record here, created by whichever of its events arrives first, and locked
while an event is handled: a duplicate event re-sends the same answer, and a release that overtakes
its request leaves a record that stops the late request from reserving anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from clinic_shared.events import catalogue
from clinic_shared.logging import get_logger
from clinic_shared.messaging import HandlerContext
from inventory.adapters.movements import MovementRepository
from inventory.adapters.repositories import (
    Change,
    ItemRepository,
    Reservation,
    ReservationRepository,
    StockRepository,
)
from inventory.adapters.visit_request import claim_request
from inventory.domain.allocation import Allocated, LotStock, Need, Shortage, allocate
from inventory.domain.items import Item
from inventory.domain.kits import for_device, kit_for
from inventory.domain.stock import Lot
from inventory.service.alerts import announce_low_stock

log = get_logger(__name__)
SYSTEM = "inventory"
ReleaseReason = Literal["cancelled", "rejected", "no_show"]


class RequestNotYetHandled(RuntimeError):
    """An event about a visit arrived before the visit's request; retried through the tiers."""


class _Saga:
    """The repositories one handler works with, on the handler's transaction."""

    def __init__(self, ctx: HandlerContext) -> None:
        self.ctx = ctx
        self.stock = StockRepository(ctx.session)
        self.items = ItemRepository(ctx.session)
        self.reservations = ReservationRepository(ctx.session)

    async def visit_day(self, clinic_id: UUID, starts_at: datetime) -> date:
        """The clinic's local date of the visit: lots must still be valid on it."""
        return starts_at.astimezone(ZoneInfo(await self.stock.clinic_zone(clinic_id))).date()

    async def existing(self, appointment_id: UUID) -> Reservation:
        """The appointment's record, locked. None yet means its request has not been handled: a move
        or a completion that overtook it waits (the consumer retries it) rather than being lost."""
        reservation = await self.reservations.get(appointment_id)
        if reservation is None:
            raise RequestNotYetHandled(f"no reservation record for appointment {appointment_id} yet")
        return reservation

    async def record(self, appointment_id: UUID, clinic_id: UUID) -> tuple[bool, Reservation]:
        fresh = await self.reservations.claim(appointment_id=appointment_id, clinic_id=clinic_id)
        reservation = await self.reservations.get(appointment_id)
        assert reservation is not None  # claimed just now or before
        return fresh, reservation


async def reserve_for_visit(event: catalogue.AppointmentRequested, ctx: HandlerContext) -> None:
    saga = _Saga(ctx)
    # Unknown clinic: raised before anything is written, so the message retries until the clinic's
    # own event has arrived (or lands in the error queue with the reason).
    request = await claim_request(
        ctx.session, appointment_id=event.appointment_id, clinic_id=event.clinic_id, areas=event.areas
    )
    if not request.fresh:
        reservation = await saga.reservations.get(event.appointment_id)
        assert reservation is not None  # claimed before
        await _answer_again(saga, reservation)
        return
    visit_day = event.starts_at.astimezone(ZoneInfo(request.zone)).date()
    items = request.items
    kit = for_device(kit_for(event.areas, request.kits), items, event.device_model)
    if kit is None:
        await saga.reservations.set(
            appointment_id=event.appointment_id, status="unavailable", visit_day=visit_day,
            unavailable_reason="no_kit_defined",
        )  # fmt: skip
        ctx.outbox.add(
            catalogue.SuppliesUnavailable(
                appointment_id=event.appointment_id, clinic_id=event.clinic_id, reason="no_kit_defined", missing=[]
            )
        )
        return
    needs = [Need(item_id=line.item_id, quantity=line.quantity) for line in kit]
    lots = await saga.stock.lock_lots(clinic_id=event.clinic_id, item_ids=[need.item_id for need in needs])
    outcome = allocate(needs, [stock_of(lot) for lot in lots], visit_day=visit_day)
    if isinstance(outcome, Shortage):
        await saga.reservations.set(
            appointment_id=event.appointment_id, status="unavailable", visit_day=visit_day,
            unavailable_reason=outcome.reason,
        )  # fmt: skip
        ctx.outbox.add(
            catalogue.SuppliesUnavailable(
                appointment_id=event.appointment_id,
                clinic_id=event.clinic_id,
                reason=outcome.reason,
                missing=[
                    catalogue.MissingSupply(
                        item_id=m.item_id, required=m.required, available=m.available, unit=items[m.item_id].unit
                    )
                    for m in outcome.missing
                ],
            )
        )
        return
    by_id = {lot.id: lot for lot in lots}
    await saga.stock.apply(
        [
            Change(lot=by_id[a.lot_id], reason="reserved", actor=SYSTEM, reserved=a.quantity,
                   appointment_id=event.appointment_id)
            for a in outcome
        ]
    )  # fmt: skip
    await saga.reservations.reserve_fresh(
        appointment_id=event.appointment_id, visit_day=visit_day,
        lines=[(a.lot_id, a.item_id, a.quantity) for a in outcome],
    )  # fmt: skip
    ctx.outbox.add(
        catalogue.SuppliesReserved(
            appointment_id=event.appointment_id,
            clinic_id=event.clinic_id,
            allocations=in_order([allocation_fact(by_id[a.lot_id], a.quantity, items[a.item_id]) for a in outcome]),
        )
    )
    # Only items with a reorder point can become `stock low`; a clinic with none is spared the check.
    await announce_low_stock(
        MovementRepository(ctx.session),
        ctx.outbox,
        clinic_id=event.clinic_id,
        item_ids=[need.item_id for need in needs if need.item_id in request.watched],
    )


async def _answer_again(saga: _Saga, reservation: Reservation) -> None:
    """The same request again (a retry with a new message id): the same answer, nothing reserved twice."""
    if reservation.status == "reserved":
        lots = {line[0]: await saga.stock.lot(line[0]) for line in reservation.lines}
        items = await saga.items.names([line[1] for line in reservation.lines])
        saga.ctx.outbox.add(
            catalogue.SuppliesReserved(
                appointment_id=reservation.appointment_id,
                clinic_id=reservation.clinic_id,
                allocations=in_order(
                    [allocation_fact(lots[lot], quantity, items[item]) for lot, item, quantity in reservation.lines]
                ),
            )
        )
    elif reservation.status == "unavailable":
        log.info("request_repeated_after_unavailable", appointment_id=str(reservation.appointment_id))
    else:
        # Released or consumed before this request arrived: the visit is over; nothing to reserve.
        log.info("request_after_release", appointment_id=str(reservation.appointment_id), status=reservation.status)


async def _release(ctx: HandlerContext, *, appointment_id: UUID, clinic_id: UUID, reason: str) -> None:
    saga = _Saga(ctx)
    fresh, reservation = await saga.record(appointment_id, clinic_id)
    if fresh or reservation.status != "reserved":
        return  # nothing held (never reserved, unavailable, or already released or consumed)
    lots = {line[0]: await saga.stock.lot(line[0], for_update=True) for line in reservation.lines}
    await saga.stock.apply(
        [
            Change(lot=lots[lot], reason="released", actor=SYSTEM, reserved=-quantity, appointment_id=appointment_id,
                   reference=reason)
            for lot, _, quantity in reservation.lines
        ]
    )  # fmt: skip
    await saga.reservations.set(appointment_id=appointment_id, status="released")
    ctx.outbox.add(
        catalogue.SuppliesReleased(
            appointment_id=appointment_id,
            clinic_id=clinic_id,
            reason=reason,
        )
    )


async def release_on_cancel(event: catalogue.AppointmentCancelled, ctx: HandlerContext) -> None:
    await _release(ctx, appointment_id=event.appointment_id, clinic_id=event.clinic_id, reason="cancelled")


async def release_on_reject(event: catalogue.AppointmentRejected, ctx: HandlerContext) -> None:
    await _release(ctx, appointment_id=event.appointment_id, clinic_id=event.clinic_id, reason="rejected")


async def release_on_no_show(event: catalogue.AppointmentNoShow, ctx: HandlerContext) -> None:
    await _release(ctx, appointment_id=event.appointment_id, clinic_id=event.clinic_id, reason="no_show")


async def consume_on_completion(event: catalogue.AppointmentCompleted, ctx: HandlerContext) -> None:
    """The reservation becomes consumption. Where the practitioner recorded another lot of the same
    item, and that lot is at the clinic and usable, it is the one consumed (and traced); the reserved
    one is released."""
    saga = _Saga(ctx)
    reservation = await saga.existing(event.appointment_id)
    if reservation.status != "reserved":
        log.warning("completion_without_reservation", appointment_id=str(event.appointment_id))
        return
    recorded = {lot.item_id: lot.lot_number for lot in event.lots_used}
    items = await saga.items.names([line[1] for line in reservation.lines])
    changes: list[Change] = []
    consumed: list[tuple[Lot, Decimal]] = []
    for lot_id, item_id, quantity in reservation.lines:
        reserved = await saga.stock.lot(lot_id, for_update=True)
        used = reserved
        named = recorded.get(item_id)
        if named is not None and named != reserved.lot_number:
            other = await saga.stock.find_lot(clinic_id=event.clinic_id, item_id=item_id, lot_number=named)
            if other is not None and _usable(other, quantity, reservation.visit_day):
                used = other
        appointment_id = event.appointment_id
        if used is reserved:
            changes.append(
                Change(lot=reserved, reason="consumed", actor=SYSTEM, on_hand=-quantity, reserved=-quantity,
                       appointment_id=appointment_id)
            )  # fmt: skip
        else:
            changes += [
                Change(lot=reserved, reason="released", actor=SYSTEM, reserved=-quantity,
                       appointment_id=appointment_id, reference="other_lot_used"),
                Change(lot=used, reason="consumed", actor=SYSTEM, on_hand=-quantity, appointment_id=appointment_id),
            ]  # fmt: skip
        consumed.append((used, quantity))
    await saga.stock.apply(changes)
    await saga.reservations.set(appointment_id=event.appointment_id, status="consumed")
    ctx.outbox.add(
        catalogue.SuppliesConsumed(
            appointment_id=event.appointment_id,
            clinic_id=event.clinic_id,
            consumed=in_order([allocation_fact(lot, quantity, items[lot.item_id]) for lot, quantity in consumed]),
        )
    )


async def recheck_on_reschedule(event: catalogue.AppointmentRescheduled, ctx: HandlerContext) -> None:
    """A moved visit keeps its lots while they are still valid on the new day; otherwise the kit is
    allocated afresh (first expiry first out) counting what this visit holds as free."""
    saga = _Saga(ctx)
    visit_day = await saga.visit_day(event.clinic_id, event.starts_at)
    reservation = await saga.existing(event.appointment_id)
    if reservation.status != "reserved":
        return
    held = {line[0]: await saga.stock.lot(line[0]) for line in reservation.lines}
    if all(lot.expires_on >= visit_day and not lot.recalled for lot in held.values()):
        await saga.reservations.set(appointment_id=event.appointment_id, status="reserved", visit_day=visit_day)
        return
    needs: dict[UUID, Decimal] = {}
    for _, item_id, quantity in reservation.lines:
        needs[item_id] = needs.get(item_id, Decimal(0)) + quantity
    lots = await saga.stock.lock_lots(clinic_id=event.clinic_id, item_ids=list(needs))
    mine = {lot: quantity for lot, _, quantity in reservation.lines}
    outcome = allocate(
        [Need(item_id=item, quantity=quantity) for item, quantity in needs.items()],
        [stock_of(lot, plus=mine.get(lot.id, Decimal(0))) for lot in lots],
        visit_day=visit_day,
    )
    if isinstance(outcome, Shortage):
        # Keeping the old lots is no worse than releasing them; the shortfall is the clinic's to solve.
        log.warning("reallocation_short", appointment_id=str(event.appointment_id), reason=outcome.reason)
        return
    by_id = {lot.id: lot for lot in lots}
    await saga.stock.apply(_reallocation(by_id, event.appointment_id, old=reservation.lines, new=outcome))
    await saga.reservations.set(
        appointment_id=event.appointment_id, status="reserved", visit_day=visit_day,
        lines=[(a.lot_id, a.item_id, a.quantity) for a in outcome],
    )  # fmt: skip
    items = await saga.items.names(list(needs))
    ctx.outbox.add(
        catalogue.SuppliesReserved(
            appointment_id=event.appointment_id,
            clinic_id=event.clinic_id,
            allocations=in_order([allocation_fact(by_id[a.lot_id], a.quantity, items[a.item_id]) for a in outcome]),
        )
    )


def _reallocation(
    lots: dict[UUID, Lot],
    appointment_id: UUID,
    *,
    old: Sequence[tuple[UUID, UUID, Decimal]],
    new: Sequence[Allocated],
) -> list[Change]:
    delta: dict[UUID, Decimal] = {}
    for lot_id, _, quantity in old:
        delta[lot_id] = delta.get(lot_id, Decimal(0)) - quantity
    for allocated in new:
        delta[allocated.lot_id] = delta.get(allocated.lot_id, Decimal(0)) + allocated.quantity
    return [
        Change(lot=lots[lot_id], reason="reallocated", actor=SYSTEM, reserved=change, appointment_id=appointment_id)
        for lot_id, change in sorted(delta.items())
        if change != 0
    ]


def _usable(lot: Lot, quantity: Decimal, visit_day: date | None) -> bool:
    in_date = visit_day is None or lot.expires_on >= visit_day
    return in_date and not lot.recalled and lot.available >= quantity


def stock_of(lot: Lot, *, plus: Decimal = Decimal(0)) -> LotStock:
    return LotStock(
        lot_id=lot.id,
        item_id=lot.item_id,
        lot_number=lot.lot_number,
        expires_on=lot.expires_on,
        available=lot.available + plus,
        usable=not lot.recalled and lot.quarantined == 0,
    )


def allocation_fact(lot: Lot, quantity: Decimal, item: Item) -> catalogue.LotAllocation:
    return catalogue.LotAllocation(
        item_id=lot.item_id, lot_number=lot.lot_number, expires_on=lot.expires_on, quantity=quantity, unit=item.unit
    )


def in_order(facts: list[catalogue.LotAllocation]) -> list[catalogue.LotAllocation]:
    """One order for every answer about a kit (by item, then first expiry), so a repeated answer is
    the same answer."""
    return sorted(facts, key=lambda fact: (str(fact.item_id), fact.expires_on, fact.lot_number))
