"""Rooms, devices, closures, practitioners and treatments."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.adapters.clinics import hours_from_json, hours_to_json
from booking.adapters.tables import (
    closures,
    credentials,
    devices,
    practitioner_clinics,
    practitioners,
    rooms,
    screening_questions,
    time_off,
    treatments,
)
from booking.domain.clinics import OpeningHours
from booking.domain.resources import Closure, Resource, ResourceKind, ResourceNameTaken
from booking.domain.screening import ScreeningQuestion
from booking.domain.staff import Credential, Practitioner, PractitionerListing, PractitionerNotFound, TimeOff
from booking.domain.treatments import Treatment, TreatmentNotFound

_RESOURCE_TABLES = {"room": rooms, "device": devices}


class SetupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def device_model(self, device_id: UUID) -> str | None:
        model: str | None = await self._session.scalar(select(devices.c.model).where(devices.c.id == device_id))
        return model

    async def add_resource(self, resource: Resource) -> None:
        table = _RESOURCE_TABLES[resource.kind]
        values: dict[str, Any] = {"id": resource.id, "clinic_id": resource.clinic_id, "name": resource.name}
        if resource.kind == "device":
            values["model"] = resource.model
        try:
            async with self._session.begin_nested():
                await self._session.execute(insert(table).values(**values, active=resource.active))
        except IntegrityError as error:
            raise ResourceNameTaken(f"this clinic already has a {resource.kind} of that name", field="name") from error

    async def resources(self, clinic_id: UUID, kind: ResourceKind) -> list[Resource]:
        table = _RESOURCE_TABLES[kind]
        rows = await self._session.execute(select(table).where(table.c.clinic_id == clinic_id).order_by(table.c.name))
        return [
            Resource(
                id=r.id, clinic_id=r.clinic_id, kind=kind, name=r.name, model=getattr(r, "model", None), active=r.active
            )
            for r in rows
        ]

    async def add_closure(self, closure: Closure) -> None:
        await self._session.execute(
            insert(closures).values(
                id=closure.id,
                clinic_id=closure.clinic_id,
                first_day=closure.first_day,
                last_day=closure.last_day,
                reason=closure.reason,
            )
        )

    async def closures(self, clinic_id: UUID, *, from_day: date) -> list[Closure]:
        rows = await self._session.execute(
            select(closures)
            .where(closures.c.clinic_id == clinic_id, closures.c.last_day >= from_day)
            .order_by(closures.c.first_day)
        )
        return [
            Closure(id=r.id, clinic_id=r.clinic_id, first_day=r.first_day, last_day=r.last_day, reason=r.reason)
            for r in rows
        ]

    async def remove_closure(self, clinic_id: UUID, closure_id: UUID) -> bool:
        result = await self._session.execute(
            delete(closures).where(closures.c.id == closure_id, closures.c.clinic_id == clinic_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_screening(self, clinic_id: UUID, questions: tuple[ScreeningQuestion, ...]) -> None:
        await self._session.execute(delete(screening_questions).where(screening_questions.c.clinic_id == clinic_id))
        if questions:
            await self._session.execute(
                insert(screening_questions),
                [
                    {
                        "clinic_id": clinic_id,
                        "key": q.key,
                        "position": i,
                        "text": q.text,
                        "flags_when": q.flags_when,
                        "effect": q.effect,
                    }
                    for i, q in enumerate(questions)
                ],
            )

    async def screening(self, clinic_id: UUID) -> tuple[ScreeningQuestion, ...]:
        rows = await self._session.execute(
            select(screening_questions)
            .where(screening_questions.c.clinic_id == clinic_id)
            .order_by(screening_questions.c.position)
        )
        return tuple(ScreeningQuestion(key=r.key, text=r.text, flags_when=r.flags_when, effect=r.effect) for r in rows)

    async def add_treatment(self, treatment: Treatment) -> None:
        await self._session.execute(
            insert(treatments).values(
                id=treatment.id,
                clinic_id=treatment.clinic_id,
                name=treatment.name,
                kind=treatment.kind,
                numbing_minutes=treatment.numbing_minutes,
                procedure_minutes=dict(treatment.procedure_minutes),
                turnover_minutes=treatment.turnover_minutes,
                active=True,
            )
        )

    async def treatment(self, clinic_id: UUID, treatment_id: UUID) -> Treatment:
        row = (
            await self._session.execute(
                select(treatments).where(treatments.c.id == treatment_id, treatments.c.clinic_id == clinic_id)
            )
        ).first()
        if row is None:
            raise TreatmentNotFound("this clinic offers no such treatment", field="treatment_id")
        return treatment_of(row._mapping)

    async def treatments(self, clinic_id: UUID) -> list[Treatment]:
        rows = await self._session.execute(
            select(treatments)
            .where(treatments.c.clinic_id == clinic_id, treatments.c.active)
            .order_by(treatments.c.name)
        )
        return [treatment_of(row._mapping) for row in rows]


def treatment_of(row: Any) -> Treatment:
    return Treatment(
        id=row["id"],
        clinic_id=row["clinic_id"],
        name=row["name"],
        numbing_minutes=row["numbing_minutes"],
        procedure_minutes=row["procedure_minutes"],
        turnover_minutes=row["turnover_minutes"],
    )


class PractitionerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, practitioner: Practitioner) -> None:
        await self._session.execute(
            insert(practitioners).values(id=practitioner.id, name=practitioner.name, profession=practitioner.profession)
        )

    async def get(self, practitioner_id: UUID) -> Practitioner:
        row = (await self._session.execute(select(practitioners).where(practitioners.c.id == practitioner_id))).first()
        if row is None:
            raise PractitionerNotFound("no such practitioner", field="practitioner_id")
        held = await self._session.execute(select(credentials).where(credentials.c.practitioner_id == practitioner_id))
        places = await self._session.execute(
            select(practitioner_clinics).where(practitioner_clinics.c.practitioner_id == practitioner_id)
        )
        return Practitioner(
            id=row.id,
            name=row.name,
            profession=row.profession,
            credentials=tuple(
                Credential(
                    id=c.id,
                    number=c.number,
                    issuer=c.issuer,
                    valid_from=c.valid_from,
                    valid_to=c.valid_to,
                    covers=frozenset(c.covers),
                )
                for c in held
            ),
            clinics={p.clinic_id: hours_from_json(p.working_hours) for p in places},
        )

    async def listed_at(self, clinic_id: UUID) -> list[PractitionerListing]:
        """Who works at the clinic, by name: what patients choose from (no credentials, no hours)."""
        rows = await self._session.execute(
            select(practitioners.c.id, practitioners.c.name, practitioners.c.profession)
            .join(practitioner_clinics)
            .where(practitioner_clinics.c.clinic_id == clinic_id)
            .order_by(practitioners.c.name, practitioners.c.id)
        )
        return [PractitionerListing(id=row.id, name=row.name, profession=row.profession) for row in rows]

    async def at_clinic(self, clinic_id: UUID) -> list[UUID]:
        rows = await self._session.execute(
            select(practitioner_clinics.c.practitioner_id)
            .join(practitioners)
            .where(practitioner_clinics.c.clinic_id == clinic_id)
            .order_by(practitioners.c.name)
        )
        return [row.practitioner_id for row in rows]

    async def add_credential(self, practitioner_id: UUID, credential: Credential) -> None:
        await self._session.execute(
            insert(credentials).values(
                id=credential.id,
                practitioner_id=practitioner_id,
                number=credential.number,
                issuer=credential.issuer,
                valid_from=credential.valid_from,
                valid_to=credential.valid_to,
                covers=sorted(credential.covers),
            )
        )

    async def set_hours(self, practitioner_id: UUID, clinic_id: UUID, hours: OpeningHours) -> None:
        statement = upsert(practitioner_clinics).values(
            practitioner_id=practitioner_id, clinic_id=clinic_id, working_hours=hours_to_json(hours)
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[practitioner_clinics.c.practitioner_id, practitioner_clinics.c.clinic_id],
                set_={"working_hours": statement.excluded.working_hours},
            )
        )

    async def add_time_off(self, practitioner_id: UUID, leave: TimeOff) -> None:
        await self._session.execute(
            insert(time_off).values(
                id=leave.id, practitioner_id=practitioner_id, starts_at=leave.starts_at, ends_at=leave.ends_at
            )
        )
