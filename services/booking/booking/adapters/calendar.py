"""Everything an availability search or a booking needs, read in ONE database round trip."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Text, bindparam, text
from sqlalchemy.dialects.postgresql import TSTZRANGE, Range
from sqlalchemy.ext.asyncio import AsyncSession

from booking.adapters.clinics import clinic_of, hours_from_json
from booking.adapters.setup import treatment_of
from booking.availability import DateRange, Period, PractitionerCalendar, ResourceCalendar, Resources
from booking.domain.appointments import HOLDING
from booking.domain.clinics import Clinic, ClinicNotFound
from booking.domain.screening import ScreeningQuestion
from booking.domain.treatments import Treatment, TreatmentNotFound

# One statement, several JSON aggregates: the clinic, the treatment, closures, the screening
# questions, and per room, device and practitioner of the clinic what keeps them busy inside the
# window. A practitioner's busy periods come from every clinic: nobody treats in two places at once.
#
# Each busy list asks for exactly the overlap its resource's exclusion constraint checks (same
# columns, same half-open range), so the constraint's GiST index finds those visits: the cost of a
# search follows the window, not the size of the appointments table.
_CALENDAR = text(
    """
    SELECT
      (SELECT row_to_json(c) FROM clinics c WHERE c.id = :clinic_id) AS clinic,
      (SELECT row_to_json(t) FROM treatments t
        WHERE t.id = :treatment_id AND t.clinic_id = :clinic_id AND t.active) AS treatment,
      (SELECT coalesce(json_agg(json_build_array(first_day, last_day)), '[]')
         FROM clinic_closures WHERE clinic_id = :clinic_id AND last_day >= :first_day AND first_day <= :last_day)
        AS closures,
      (SELECT coalesce(json_agg(json_build_array(q.key, q.text, q.flags_when, q.effect) ORDER BY q.position), '[]')
         FROM screening_questions q WHERE q.clinic_id = :clinic_id) AS screening,
      (SELECT coalesce(json_agg(json_build_object('id', r.id, 'busy',
          (SELECT coalesce(json_agg(json_build_array(a.starts_at, a.ends_at)), '[]')
             FROM appointments a
            WHERE a.room_id = r.id AND tstzrange(a.starts_at, a.ends_at, '[)') && :window
              AND a.status IN :holding AND a.id IS DISTINCT FROM CAST(:ignoring AS uuid))) ORDER BY r.name), '[]')
         FROM rooms r WHERE r.clinic_id = :clinic_id AND r.active) AS rooms,
      (SELECT coalesce(json_agg(json_build_object('id', d.id, 'model', d.model, 'busy',
          (SELECT coalesce(json_agg(json_build_array(a.procedure_starts_at, a.ends_at)), '[]')
             FROM appointments a
            WHERE a.device_id = d.id AND tstzrange(a.procedure_starts_at, a.ends_at, '[)') && :window
              AND a.status IN :holding AND a.id IS DISTINCT FROM CAST(:ignoring AS uuid))) ORDER BY d.name), '[]')
         FROM devices d WHERE d.clinic_id = :clinic_id AND d.active) AS devices,
      (SELECT coalesce(json_agg(json_build_object(
          'id', pc.practitioner_id,
          'hours', pc.working_hours,
          'credentials', (SELECT coalesce(json_agg(json_build_array(cr.valid_from, cr.valid_to)), '[]')
              FROM credentials cr WHERE cr.practitioner_id = pc.practitioner_id
               AND cr.covers @> ARRAY[:kind]::text[] AND cr.valid_to >= :first_day AND cr.valid_from <= :last_day),
          'time_off', (SELECT coalesce(json_agg(json_build_array(o.starts_at, o.ends_at)), '[]')
              FROM time_off o WHERE o.practitioner_id = pc.practitioner_id
               AND tstzrange(o.starts_at, o.ends_at, '[)') && :window),
          'busy', (SELECT coalesce(json_agg(json_build_array(a.procedure_starts_at, a.procedure_ends_at)), '[]')
              FROM appointments a
             WHERE a.practitioner_id = pc.practitioner_id
               AND tstzrange(a.procedure_starts_at, a.procedure_ends_at, '[)') && :window
               AND a.status IN :holding AND a.id IS DISTINCT FROM CAST(:ignoring AS uuid))
        ) ORDER BY pc.practitioner_id), '[]')
         FROM practitioner_clinics pc
        WHERE pc.clinic_id = :clinic_id
          AND (CAST(:practitioner_id AS uuid) IS NULL OR pc.practitioner_id = :practitioner_id)) AS practitioners
    """
).bindparams(
    # Rendered into the statement as literals, not sent as a server-side parameter: the exclusion
    # constraints' indexes are partial (WHERE status IN the holding statuses), and PostgreSQL uses a
    # partial index only when the statement's own condition proves the index's, which a parameter
    # never does in the generic plan it caches. The text stays the same from call to call.
    bindparam("holding", value=list(HOLDING), type_=Text, expanding=True, literal_execute=True),
    bindparam("window", type_=TSTZRANGE),
)


@dataclass(frozen=True)
class Calendar:
    clinic: Clinic
    treatment: Treatment
    closures: tuple[DateRange, ...]
    resources: Resources
    screening: tuple[ScreeningQuestion, ...]  # the clinic's questions, in order
    device_models: dict[UUID, str | None]  # per device of the clinic, its model if recorded


async def load_calendar(
    session: AsyncSession,
    *,
    clinic_id: UUID,
    treatment_id: UUID,
    first_day: date,
    last_day: date,
    window_start: datetime,
    window_end: datetime,
    ignoring: UUID | None = None,
    practitioner_id: UUID | None = None,
) -> Calendar:
    """`ignoring`: a visit being moved, whose current hold must not block its own new time.
    `practitioner_id`: read only this practitioner of the clinic (a search or booking that names one)."""
    row = (
        await session.execute(
            _CALENDAR,
            {
                "clinic_id": clinic_id,
                "treatment_id": treatment_id,
                "first_day": first_day,
                "last_day": last_day,
                # A window that ends before it starts (days given the wrong way round) holds nothing.
                "window": Range(window_start, max(window_start, window_end), bounds="[)"),
                "kind": "microneedling",
                "ignoring": ignoring,
                "practitioner_id": practitioner_id,
            },
        )
    ).one()
    if row.clinic is None:
        raise ClinicNotFound("no such clinic", field="clinic_id")
    if row.treatment is None:
        raise TreatmentNotFound("this clinic offers no such treatment", field="treatment_id")
    return Calendar(
        clinic=clinic_of(_Record(row.clinic)),
        treatment=treatment_of({**row.treatment, "id": UUID(row.treatment["id"]), "clinic_id": clinic_id}),
        closures=tuple(DateRange(first=date.fromisoformat(a), last=date.fromisoformat(b)) for a, b in row.closures),
        screening=tuple(
            ScreeningQuestion(key=key, text=text, flags_when=flags_when, effect=effect)
            for key, text, flags_when, effect in row.screening
        ),
        resources=Resources(
            practitioners=tuple(_practitioner(p) for p in row.practitioners),
            rooms=tuple(ResourceCalendar(resource_id=UUID(r["id"]), busy=_periods(r["busy"])) for r in row.rooms),
            devices=tuple(ResourceCalendar(resource_id=UUID(d["id"]), busy=_periods(d["busy"])) for d in row.devices),
        ),
        device_models={UUID(d["id"]): d["model"] for d in row.devices},
    )


class _Record:
    """Attribute access over a row_to_json object, so `clinic_of` reads it like a table row."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        value = self._values[name]
        return UUID(value) if name == "id" else value


def _periods(pairs: list[list[str]]) -> tuple[Period, ...]:
    periods = (Period(start=datetime.fromisoformat(a), end=datetime.fromisoformat(b)) for a, b in pairs)
    return tuple(sorted(periods, key=lambda period: period.start))


def _practitioner(raw: dict[str, Any]) -> PractitionerCalendar:
    return PractitionerCalendar(
        practitioner_id=UUID(raw["id"]),
        working_hours=hours_from_json(raw["hours"]).days,
        credentials=tuple(
            DateRange(first=date.fromisoformat(a), last=date.fromisoformat(b)) for a, b in raw["credentials"]
        ),
        time_off=_periods(raw["time_off"]),
        busy=_periods(raw["busy"]),
    )
