"""Booking's unit of work: one transaction, its repositories, its outbox and its idempotency record."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from booking.adapters.appointments import AppointmentRepository
from booking.adapters.clinics import ClinicRepository
from booking.adapters.holds import HoldRepository
from booking.adapters.patients import PatientRepository
from booking.adapters.setup import PractitionerRepository, SetupRepository
from booking.adapters.waitlist import WaitlistRepository
from clinic_shared.idempotency import IdempotencyStore
from clinic_shared.uow import SqlUnitOfWork


class BookingUnitOfWork(SqlUnitOfWork):
    clinics: ClinicRepository
    setup: SetupRepository
    practitioners: PractitionerRepository
    appointments: AppointmentRepository
    holds: HoldRepository
    patients: PatientRepository
    waitlist: WaitlistRepository
    idempotency: IdempotencyStore

    def open_repositories(self, session: AsyncSession) -> None:
        self.clinics = ClinicRepository(session)
        self.setup = SetupRepository(session)
        self.practitioners = PractitionerRepository(session)
        self.appointments = AppointmentRepository(session)
        self.holds = HoldRepository(session)
        self.patients = PatientRepository(session)
        self.waitlist = WaitlistRepository(session)
        self.idempotency = IdempotencyStore(session)
