"""Patients and appointments. Holding a visit is one INSERT; the exclusion constraints decide."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, literal, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.adapters.tables import SLOT_CONSTRAINTS, SLOT_PERIODS, appointments, courses
from booking.availability import Allocation
from booking.domain.appointments import HOLDING, Appointment, AppointmentNotFound, LotUsed, SlotTaken, Status
from booking.domain.courses import Course, CourseNotFound
from booking.domain.holds import HOLD_STATUSES, Hold
from clinic_shared.db import violated_constraint
from clinic_shared.errors import Conflict


class SlotTakenBy(SlotTaken):
    """The visit collided on one resource; the booking use case retries without it."""

    def __init__(self, message: str, *, resource: str, resource_id: UUID) -> None:
        super().__init__(message, field="starts_at")
        self.resource = resource
        self.resource_id = resource_id


# What the lifecycle changes; everything else of a visit (who, what, screening, course) stays as booked,
# so a change never writes back data that an erasure removed meanwhile.
LIFECYCLE_COLUMNS = frozenset(
    {
        "practitioner_id", "room_id", "device_id", "status", "starts_at", "procedure_starts_at",
        "procedure_ends_at", "ends_at", "rejection_reason", "cancelled_by", "cancel_reason_code",
        "checked_in_at", "completed_at", "needle_depths_mm", "lots_used", "requested_at",
    }
)  # fmt: skip


class CourseChangedConcurrently(Conflict):
    code = "course_changed_concurrently"


# DO NOTHING with no conflict target also yields to the exclusion constraints (PostgreSQL 15), so a
# taken time leaves the transaction usable without a SAVEPOINT / RELEASE pair around every insert.
_HOLD = pg_insert(appointments).on_conflict_do_nothing().returning(appointments.c.id)
# A refused hold is tried again only when the visit in its way was gone by the time we looked.
HOLD_ATTEMPTS = 3
# The statuses under which `uq_appointments_course_session` (migration 0005) keeps a session number taken.
COURSE_SESSION_HOLDING = ("requested", "confirmed", "checked_in", "completed")
# What taking up a hold writes: who comes, their screening and course; the time and resources stay.
TAKE_UP_COLUMNS = frozenset(
    {"patient_id", "status", "requested_at", "screening_outcome", "screening_answers", "course_id", "session_number"}
)


async def insert_holding(
    session: AsyncSession,
    row: dict[str, Any],
    *,
    allocation: Allocation,
    refused_otherwise: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Insert a row that holds time (a visit, an offer, a hold); the transaction stays usable when
    the time is taken. `refused_otherwise` raises when another constraint refused the row.

    A refusal is explained by reading which resource is taken, not by inserting again where the
    error would name the constraint: a plain insert waits for every concurrent visit still
    undecided on that time, and two such waits in opposite directions are a deadlock, which is
    what 200 patients racing for one time produced. The speculative insert never waits that way."""
    for _ in range(HOLD_ATTEMPTS):
        if (await session.execute(_HOLD, row)).first() is not None:
            return
        resource = await _taken_resource(session, row)
        if resource is not None:
            raise SlotTakenBy(
                f"the {resource} is no longer free at this time",
                resource=resource,
                resource_id=getattr(allocation, f"{resource}_id"),
            )
        if refused_otherwise is not None:
            await refused_otherwise()
        # Neither: the visit in the way let go of the time (it was cancelled) as we looked. Again.
    raise SlotTaken("this time is no longer free", field="starts_at")


async def _taken_resource(session: AsyncSession, mine: dict[str, Any]) -> str | None:
    """The first of the row's resources that a holding visit occupies in the same period."""
    clashes = [
        select(literal(resource).label("resource")).where(
            appointments.c.status.in_(HOLDING),
            resource_id == mine[resource_id.key],
            func.tstzrange(start, end, "[)").op("&&")(func.tstzrange(mine[start.key], mine[end.key], "[)")),
        )
        for resource, (resource_id, start, end) in SLOT_PERIODS.items()
    ]
    return (await session.execute(union_all(*clashes).limit(1))).scalar()


class AppointmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def hold(self, appointment: Appointment) -> None:
        """Insert the visit; SlotTakenBy names the resource when the time is taken (see insert_holding)."""

        async def session_taken() -> None:
            if appointment.course_id is not None and await self._session_taken(appointment):
                raise CourseChangedConcurrently("another session of this course was booked meanwhile; reload it")

        await insert_holding(
            self._session, _row(appointment), allocation=appointment.allocation, refused_otherwise=session_taken
        )

    async def take_up_hold(self, appointment: Appointment) -> bool:
        """Turn the hold of the same id into this visit, only while it is still held by the database's
        clock. The row keeps its time and resources throughout, so nobody can take them in between."""
        values = {k: v for k, v in _row(appointment).items() if k in TAKE_UP_COLUMNS}
        result = await self._session.execute(
            update(appointments)
            .where(
                appointments.c.id == appointment.id,
                appointments.c.status == "held",
                appointments.c.held_until > func.now(),
            )
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _session_taken(self, appointment: Appointment) -> bool:
        taken = select(appointments.c.id).where(
            appointments.c.course_id == appointment.course_id,
            appointments.c.session_number == appointment.session_number,
            appointments.c.status.in_(COURSE_SESSION_HOLDING),
        )
        return (await self._session.execute(taken.limit(1))).first() is not None

    async def lock_moves(self, clinic_id: UUID) -> None:
        """Take the clinic's lock for moving visits until the transaction ends. Moves onto one time
        then run one after another, each seeing the last; without it their updates check the exclusion
        constraints against each other's undecided rows, wait on each other, and deadlock."""
        key = func.hashtextextended(func.concat("booking.moves:", str(clinic_id)), 0)
        await self._session.execute(select(func.pg_advisory_xact_lock(key)))

    async def get(self, appointment_id: UUID, *, for_update: bool = False) -> Appointment:
        """`for_update`: lock the row until the transaction ends, for a use case that will change it;
        a concurrent change then waits and works from what this one committed."""
        # A hold is no appointment (nobody is booked): it is reached through its own token only.
        query = select(appointments).where(
            appointments.c.id == appointment_id, appointments.c.status.not_in(HOLD_STATUSES)
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        if row is None:
            raise AppointmentNotFound("no such appointment", field="appointment_id")
        return appointment_from_row(row._mapping)

    async def decide(self, appointment: Appointment, *, expected: Status, also: Collection[str] = ()) -> bool:
        """Store a change only if nobody changed the status meanwhile (a conditional update). A moved
        visit is held at its new time and freed at the old in this one statement; the exclusion
        constraints check the new periods against every other visit. `also` names columns beyond the
        lifecycle's that this change sets (an accepted offer's screening)."""
        values = {k: v for k, v in _row(appointment).items() if k in LIFECYCLE_COLUMNS or k in also}
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    update(appointments)
                    .where(appointments.c.id == appointment.id, appointments.c.status == expected)
                    .values(**values)
                )
        except IntegrityError as error:
            raise _slot_taken(error, appointment) from error
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def between(
        self,
        *,
        clinic_id: UUID,
        start: datetime,
        end: datetime,
        statuses: Collection[Status] | None = None,
        practitioner_id: UUID | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[Appointment | Hold]:
        """Visits (and holds, in a hold's status) of a clinic starting in [start, end), in start order:
        schedules and staff lists."""
        query = select(appointments).where(
            appointments.c.clinic_id == clinic_id, appointments.c.starts_at >= start, appointments.c.starts_at < end
        )
        if statuses:
            query = query.where(appointments.c.status.in_(list(statuses)))
        if practitioner_id is not None:
            query = query.where(appointments.c.practitioner_id == practitioner_id)
        rows = await self._session.execute(
            query.order_by(appointments.c.starts_at, appointments.c.id).offset(offset).limit(limit)
        )
        return [
            hold_from_row(row._mapping) if row.status in HOLD_STATUSES else appointment_from_row(row._mapping)
            for row in rows
        ]

    async def add_course(self, course: Course) -> None:
        await self._session.execute(
            insert(courses).values(
                id=course.id,
                clinic_id=course.clinic_id,
                patient_id=course.patient_id,
                treatment_id=course.treatment_id,
                areas=list(course.areas),
                sessions_planned=course.sessions_planned,
            )
        )

    async def course(self, course_id: UUID) -> Course:
        row = (await self._session.execute(select(courses).where(courses.c.id == course_id))).first()
        if row is None:
            raise CourseNotFound("no such course", field="course_id")
        return Course(
            id=row.id,
            clinic_id=row.clinic_id,
            patient_id=row.patient_id,
            treatment_id=row.treatment_id,
            areas=tuple(row.areas),
            sessions_planned=row.sessions_planned,
        )

    async def sessions(self, course_id: UUID) -> list[Appointment]:
        """The course's visits that hold their time, in session order."""
        rows = await self._session.execute(
            select(appointments)
            .where(appointments.c.course_id == course_id, appointments.c.status.in_(HOLDING))
            .order_by(appointments.c.session_number)
        )
        return [appointment_from_row(row._mapping) for row in rows]

    async def claim_unanswered(self, *, requested_before: datetime, limit: int = 100) -> list[Appointment]:
        """Requested visits still waiting for supplies, locked so only one worker times each out."""
        rows = await self._session.execute(
            select(appointments)
            .where(appointments.c.status == "requested", appointments.c.requested_at < requested_before)
            .order_by(appointments.c.requested_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [appointment_from_row(row._mapping) for row in rows]


def _slot_taken(error: IntegrityError, appointment: Appointment) -> Exception:
    constraint = violated_constraint(error)
    if constraint == "uq_appointments_course_session":
        return CourseChangedConcurrently("another session of this course was booked meanwhile; reload it")
    if constraint not in SLOT_CONSTRAINTS:
        return error
    resource = constraint.removeprefix("ex_appointments_")
    return SlotTakenBy(
        f"the {resource} is no longer free at this time",
        resource=resource,
        resource_id=getattr(appointment.allocation, f"{resource}_id"),
    )


def _row(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": appointment.id,
        "clinic_id": appointment.clinic_id,
        "patient_id": appointment.patient_id,
        "treatment_id": appointment.treatment_id,
        "practitioner_id": appointment.allocation.practitioner_id,
        "room_id": appointment.allocation.room_id,
        "device_id": appointment.allocation.device_id,
        "areas": list(appointment.areas),
        "status": appointment.status,
        "starts_at": appointment.starts_at,
        "procedure_starts_at": appointment.procedure_starts_at,
        "procedure_ends_at": appointment.procedure_ends_at,
        "ends_at": appointment.ends_at,
        "requested_at": appointment.requested_at,
        "rejection_reason": appointment.rejection_reason,
        "cancelled_by": appointment.cancelled_by,
        "cancel_reason_code": appointment.cancel_reason_code,
        "checked_in_at": appointment.checked_in_at,
        "completed_at": appointment.completed_at,
        "needle_depths_mm": dict(appointment.needle_depths_mm) if appointment.needle_depths_mm else None,
        "lots_used": [{"item_id": str(lot.item_id), "lot_number": lot.lot_number} for lot in appointment.lots_used],
        "screening_outcome": appointment.screening_outcome,
        "screening_answers": dict(appointment.screening_answers) if appointment.screening_answers else None,
        "course_id": appointment.course_id,
        "session_number": appointment.session_number,
        "waitlist_entry_id": appointment.waitlist_entry_id,
        "offer_expires_at": appointment.offer_expires_at,
    }


def hold_from_row(row: Any) -> Hold:
    return Hold(
        id=row["id"],
        clinic_id=row["clinic_id"],
        treatment_id=row["treatment_id"],
        areas=tuple(row["areas"]),
        allocation=Allocation(
            practitioner_id=row["practitioner_id"], room_id=row["room_id"], device_id=row["device_id"]
        ),
        starts_at=row["starts_at"],
        procedure_starts_at=row["procedure_starts_at"],
        procedure_ends_at=row["procedure_ends_at"],
        ends_at=row["ends_at"],
        status=row["status"],
        held_at=row["requested_at"],
        held_until=row["held_until"],
        extended_at=row["hold_extended_at"],
    )


def appointment_from_row(row: Any) -> Appointment:
    return Appointment(
        id=row["id"],
        clinic_id=row["clinic_id"],
        patient_id=row["patient_id"],
        treatment_id=row["treatment_id"],
        areas=tuple(row["areas"]),
        allocation=Allocation(
            practitioner_id=row["practitioner_id"], room_id=row["room_id"], device_id=row["device_id"]
        ),
        starts_at=row["starts_at"],
        procedure_starts_at=row["procedure_starts_at"],
        procedure_ends_at=row["procedure_ends_at"],
        ends_at=row["ends_at"],
        status=row["status"],
        requested_at=row["requested_at"],
        rejection_reason=row["rejection_reason"],
        cancelled_by=row["cancelled_by"],
        cancel_reason_code=row["cancel_reason_code"],
        checked_in_at=row["checked_in_at"],
        completed_at=row["completed_at"],
        needle_depths_mm=row["needle_depths_mm"],
        screening_outcome=row["screening_outcome"],
        course_id=row["course_id"],
        session_number=row["session_number"],
        screening_answers=row["screening_answers"],
        waitlist_entry_id=row["waitlist_entry_id"],
        offer_expires_at=row["offer_expires_at"],
        lots_used=tuple(
            LotUsed(item_id=UUID(lot["item_id"]), lot_number=lot["lot_number"]) for lot in row["lots_used"]
        ),
    )
