"""Treatments a clinic offers: areas and how long each phase of a visit takes."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Self
from uuid import UUID, uuid4

from booking.availability import Phases
from booking.domain.areas import Area
from booking.domain.staff import TreatmentKind
from clinic_shared.errors import InvalidInput, NotFound


class TreatmentNotFound(NotFound):
    code = "treatment_not_found"


class InvalidTreatment(InvalidInput):
    code = "invalid_treatment"


class AreaNotOffered(InvalidInput):
    code = "area_not_offered"


@dataclass(frozen=True)
class Treatment:
    """Microneedling of one or more areas. A visit occupies a room for numbing + procedure + turnover,
    the practitioner for the procedure, and a device for the procedure + turnover."""

    id: UUID
    clinic_id: UUID
    name: str
    numbing_minutes: int
    procedure_minutes: Mapping[Area, int]
    turnover_minutes: int
    kind: TreatmentKind = "microneedling"

    def __post_init__(self) -> None:
        if not self.procedure_minutes:
            raise InvalidTreatment("a treatment offers at least one area", field="procedure_minutes")
        for area, minutes in self.procedure_minutes.items():
            if not 5 <= minutes <= 240:
                raise InvalidTreatment(f"{area} takes 5 to 240 minutes", field=f"procedure_minutes.{area}")
        if not 0 <= self.numbing_minutes <= 120 or not 0 <= self.turnover_minutes <= 120:
            raise InvalidTreatment("numbing and turnover take 0 to 120 minutes", field="numbing_minutes")

    @classmethod
    def offer(
        cls,
        *,
        clinic_id: UUID,
        name: str,
        numbing_minutes: int,
        procedure_minutes: Mapping[Area, int],
        turnover_minutes: int,
    ) -> Self:
        return cls(
            id=uuid4(),
            clinic_id=clinic_id,
            name=name.strip(),
            numbing_minutes=numbing_minutes,
            procedure_minutes=dict(procedure_minutes),
            turnover_minutes=turnover_minutes,
        )

    def phases(self, areas: Collection[Area]) -> Phases:
        """The three phases of a visit for these areas (treated one after the other)."""
        if not areas:
            raise AreaNotOffered("name at least one area", field="areas")
        missing = [area for area in areas if area not in self.procedure_minutes]
        if missing:
            raise AreaNotOffered(f"{self.name} does not treat {', '.join(missing)}", field="areas")
        return Phases(
            numbing=timedelta(minutes=self.numbing_minutes),
            procedure=timedelta(minutes=sum(self.procedure_minutes[area] for area in set(areas))),
            turnover=timedelta(minutes=self.turnover_minutes),
        )
