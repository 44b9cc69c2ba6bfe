"""Recalls: a lot (item + lot number) recalled anywhere in the chain is quarantined everywhere; kits
reserved from it for future visits move to other lots where possible (a projected shortfall where
not); the completed visits treated with it are listed and announced, so their patients can be told."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from uuid import UUID

from clinic_shared.errors import Conflict
from clinic_shared.events import catalogue
from inventory.adapters.repositories import Change
from inventory.adapters.uow import InventoryUnitOfWork
from inventory.domain.allocation import Need, Shortage, allocate
from inventory.domain.stock import LotNotFound
from inventory.service.alerts import announce_low_stock
from inventory.service.reservations import allocation_fact, in_order, stock_of

SYSTEM = "inventory"


class AlreadyRecalled(Conflict):
    code = "lot_already_recalled"


@dataclass
class RecallOutcome:
    recall_id: UUID
    quarantined: dict[UUID, Decimal] = field(default_factory=dict)  # per clinic
    reallocated: list[UUID] = field(default_factory=list)
    short: list[UUID] = field(default_factory=list)
    treated: list[tuple[UUID, UUID]] = field(default_factory=list)  # (appointment, clinic)


async def recall_lot(
    uow: InventoryUnitOfWork, *, item_id: UUID, lot_number: str, reason_code: str | None, actor: str
) -> RecallOutcome:
    async with uow:
        item = await uow.items.get(item_id)
        movements = uow.movements
        rows = await movements.lots_numbered(item_id=item_id, lot_number=lot_number)
        if not rows:
            raise LotNotFound("no clinic holds a lot of this item with this number", field="lot_number")
        recall_id = await movements.add_recall(
            item_id=item_id, lot_number=lot_number, reason_code=reason_code, recalled_by=actor
        )
        if recall_id is None:
            raise AlreadyRecalled("this lot was recalled before", field="lot_number")
        outcome = RecallOutcome(recall_id=recall_id)
        recalled_ids = [row.id for row in rows]
        await movements.mark_recalled(recalled_ids)
        for appointment_id in await movements.reservations_on(recalled_ids):
            moved = await _move_reservation(uow, appointment_id, set(recalled_ids))
            (outcome.reallocated if moved else outcome.short).append(appointment_id)
        for lot_id in recalled_ids:
            lot = await uow.stock.lot(lot_id, for_update=True)
            rest = lot.on_hand - lot.reserved - lot.quarantined
            if rest > 0:
                await uow.stock.apply(
                    [Change(lot=lot, reason="recalled", actor=actor, quarantined=rest, reference=str(recall_id))]
                )
            outcome.quarantined[lot.clinic_id] = outcome.quarantined.get(lot.clinic_id, Decimal(0)) + rest
            await announce_low_stock(movements, uow.outbox, clinic_id=lot.clinic_id, item_ids=[item_id])
        outcome.treated = await movements.treated_with(recalled_ids)
        uow.outbox.add(
            catalogue.LotRecalled(
                recall_id=recall_id,
                item_id=item_id,
                item_name=item.name,
                lot_number=lot_number,
                affected_appointments=[
                    catalogue.AffectedAppointment(appointment_id=appointment, clinic_id=clinic)
                    for appointment, clinic in outcome.treated
                ],
            )
        )
        await uow.commit()
    return outcome


async def _move_reservation(uow: InventoryUnitOfWork, appointment_id: UUID, recalled: set[UUID]) -> bool:
    """Move the parts of one reserved kit that sit on recalled lots to other lots; True if all moved.
    What cannot move is let go of (recalled stock cannot be used) and announced as a shortfall."""
    reservation = await uow.reservations.get(appointment_id)
    assert reservation is not None
    assert reservation.visit_day is not None
    on_recalled = [line for line in reservation.lines if line[0] in recalled]
    keep = [line for line in reservation.lines if line[0] not in recalled]
    needs: dict[UUID, Decimal] = {}
    for _, item, quantity in on_recalled:
        needs[item] = needs.get(item, Decimal(0)) + quantity
    lots = await uow.stock.lock_lots(clinic_id=reservation.clinic_id, item_ids=list(needs))
    by_id = {lot.id: lot for lot in lots}
    outcome = allocate(
        [Need(item_id=item, quantity=quantity) for item, quantity in needs.items()],
        [stock_of(lot) for lot in lots if lot.id not in recalled],
        visit_day=reservation.visit_day,
    )
    changes = [
        Change(lot=by_id[lot], reason="reallocated", actor=SYSTEM, reserved=-quantity, appointment_id=appointment_id,
               reference="recall")
        for lot, _, quantity in on_recalled
    ]  # fmt: skip
    if isinstance(outcome, Shortage):
        await uow.stock.apply(changes)
        await uow.reservations.set(appointment_id=appointment_id, status="reserved", lines=keep)
        await _announce_short(uow, reservation.clinic_id, reservation.visit_day, needs)
        return False
    changes += [
        Change(lot=by_id[a.lot_id], reason="reallocated", actor=SYSTEM, reserved=a.quantity,
               appointment_id=appointment_id, reference="recall")
        for a in outcome
    ]  # fmt: skip
    await uow.stock.apply(changes)
    lines = keep + [(a.lot_id, a.item_id, a.quantity) for a in outcome]
    await uow.reservations.set(appointment_id=appointment_id, status="reserved", lines=lines)
    items = await uow.items.names({line[1] for line in lines})
    fresh = {lot.id: lot for lot in [await uow.stock.lot(line[0]) for line in lines]}
    uow.outbox.add(
        catalogue.SuppliesReserved(
            appointment_id=appointment_id,
            clinic_id=reservation.clinic_id,
            allocations=in_order([allocation_fact(fresh[lot], quantity, items[item]) for lot, item, quantity in lines]),
        )
    )
    return True


async def _announce_short(uow: InventoryUnitOfWork, clinic_id: UUID, day: date, needs: dict[UUID, Decimal]) -> None:
    movements = uow.movements
    items = await uow.items.names(list(needs))
    for item_id, quantity in needs.items():
        if await movements.first_shortfall_alert(clinic_id=clinic_id, item_id=item_id, on_date=day):
            uow.outbox.add(
                catalogue.ShortfallProjected(
                    clinic_id=clinic_id, item_id=item_id, item_name=items[item_id].name, on_date=day,
                    required=quantity, available=Decimal(0), unit=items[item_id].unit,
                )
            )  # fmt: skip
