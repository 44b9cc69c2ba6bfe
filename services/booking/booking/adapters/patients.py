"""Patients: contact details, health details (read audit-logged), erasure."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from booking.adapters.tables import appointments, health_data_reads, patients
from booking.domain.patients import Consent, HealthDetails, Patient, PatientChangedConcurrently, PatientNotFound
from clinic_shared.tables import outbox

PAYLOAD_PATH: ColumnElement[Any] = literal_column("'{payload}'::text[]")


# Built once and given the row as parameters: `.values(**row)` built a statement and its cache key
# on every booking.
_ADD = insert(patients)


class PatientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, patient: Patient) -> None:
        await self._session.execute(_ADD, {"id": patient.id, **_values(patient)})

    async def get(self, patient_id: UUID, *, for_update: bool = False) -> Patient:
        """`for_update`: locked until the transaction ends, for a use case that will change the record
        (a returning patient's booking, an erasure): the two then never interleave."""
        query = select(patients).where(patients.c.id == patient_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._session.execute(query)).first()
        if row is None:
            raise PatientNotFound("no such patient", field="patient_id")
        return _patient(row._mapping)

    async def save(self, patient: Patient) -> None:
        """Store the next revision, only over the one it was made from and never over an erasure."""
        result = await self._session.execute(
            update(patients)
            .where(
                patients.c.id == patient.id,
                patients.c.revision == patient.revision - 1,
                patients.c.erased_at.is_(None),
            )
            .values(**_values(patient))
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise PatientChangedConcurrently("the patient's record changed meanwhile; try again", field="patient")

    async def forget_screening_answers(self, patient_id: UUID) -> None:
        await self._session.execute(
            update(appointments).where(appointments.c.patient_id == patient_id).values(screening_answers=None)
        )

    async def forget_announced_contact(self, patient_id: UUID) -> None:
        """Contact details this patient's events carried: unpublished ones are never sent, published
        ones keep only the patient id (the rows themselves go with the retention job)."""
        about_patient = (outbox.c.body["type"].astext == "booking.patient.contact_changed") & (
            outbox.c.body["payload"]["patient_id"].astext == str(patient_id)
        )
        await self._session.execute(delete(outbox).where(about_patient, outbox.c.published_at.is_(None)))
        await self._session.execute(
            update(outbox)
            .where(about_patient)
            .values(
                body=func.jsonb_set(outbox.c.body, PAYLOAD_PATH, func.jsonb_build_object("patient_id", str(patient_id)))
            )
        )

    async def clinics_booked(self, patient_id: UUID) -> set[UUID]:
        rows = await self._session.execute(
            select(appointments.c.clinic_id).where(appointments.c.patient_id == patient_id).distinct()
        )
        return {row.clinic_id for row in rows}

    async def record_health_read(self, patient_id: UUID, *, read_by: str, role: str) -> None:
        await self._session.execute(insert(health_data_reads).values(patient_id=patient_id, read_by=read_by, role=role))


def _values(patient: Patient) -> dict[str, Any]:
    return {
        "display_name": patient.display_name,
        "email": patient.email,
        "phone": patient.phone,
        "preferred_channel": patient.preferred_channel,
        "locale": patient.locale,
        "care_messages_consent": patient.care_messages_consent,
        "marketing_consent": patient.marketing_consent,
        "consent_text_version": patient.consent.text_version,
        "consented_at": patient.consent.given_at,
        "date_of_birth": patient.health.date_of_birth,
        "skin_type": patient.health.skin_type,
        "concerns": list(patient.health.concerns),
        "revision": patient.revision,
        "erased_at": patient.erased_at,
    }


def _patient(row: Any) -> Patient:
    return Patient(
        id=row["id"],
        display_name=row["display_name"],
        email=row["email"],
        phone=row["phone"],
        preferred_channel=row["preferred_channel"],
        locale=row["locale"],
        care_messages_consent=row["care_messages_consent"],
        marketing_consent=row["marketing_consent"],
        consent=Consent(text_version=row["consent_text_version"], given_at=row["consented_at"]),
        health=HealthDetails(
            date_of_birth=row["date_of_birth"], skin_type=row["skin_type"], concerns=tuple(row["concerns"])
        ),
        revision=row["revision"],
        erased_at=row["erased_at"],
    )
