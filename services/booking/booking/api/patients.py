"""Patients' records for staff (every read recorded) and erasure; the clinic's screening questions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, StrictBool

from booking.api.common import Caller, ClinicId, ClinicManager, Staff, Strict, UnitOfWork
from booking.domain.patients import Concern, Patient
from booking.domain.screening import ScreeningQuestion
from booking.service import patients as service
from booking.service import setup
from clinic_shared.auth import Forbidden, Principal, Role, require_roles
from clinic_shared.manage_links import ManageGrant
from clinic_shared.ratelimit import PUBLIC_RATE_LIMIT
from clinic_shared.web import ERROR_RESPONSES, error_response

router = APIRouter(tags=["patients"], responses=ERROR_RESPONSES)
# Who reads screening answers: those who decide whether the treatment goes ahead.
Treaters = Annotated[Principal, require_roles(Role.PRACTITIONER, Role.CLINIC_MANAGER, Role.ADMIN)]
PatientId = Annotated[UUID, Path(description="the patient's id")]


class QuestionIn(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", examples=["active_skin_infection"])
    text: str = Field(min_length=3, max_length=300, examples=["Do you have an active skin infection?"])
    flags_when: StrictBool = Field(description="the answer that flags the booking", examples=[True])
    effect: Literal["review", "block"] = Field(
        description="`review`: a practitioner looks at the booking; `block`: the patient must call the clinic"
    )


@router.put(
    "/clinics/{clinic_id}/screening",
    summary="Set the screening questions",
    tags=["clinic set-up"],
    responses={404: error_response("Unknown clinic")},
)
async def set_screening(
    clinic_id: ClinicId,
    body: Annotated[list[QuestionIn], Field(max_length=30)],
    uow: UnitOfWork,
    principal: ClinicManager,
) -> list[QuestionIn]:
    """Replaces the clinic's yes/no questions. Booking online needs an answer to each."""
    questions = await setup.set_screening(
        uow, clinic_id=clinic_id, questions=[ScreeningQuestion(**q.model_dump()) for q in body]
    )
    return [QuestionIn(key=q.key, text=q.text, flags_when=q.flags_when, effect=q.effect) for q in questions]


@router.get(
    "/clinics/{clinic_id}/screening",
    summary="The screening questions",
    tags=["clinic set-up"],
    responses={404: error_response("Unknown clinic")},
)
async def screening(clinic_id: ClinicId, uow: UnitOfWork) -> list[QuestionIn]:
    """Public: the questions a patient answers when booking (`screening_answers`, by key)."""
    questions = await setup.screening(uow, clinic_id=clinic_id)
    return [QuestionIn(key=q.key, text=q.text, flags_when=q.flags_when, effect=q.effect) for q in questions]


class ScreeningCheckIn(Strict):
    answers: dict[str, StrictBool] = Field(max_length=30, description="the clinic's screening questions, by key")


class ScreeningCheckOut(BaseModel):
    outcome: Literal["clear", "review"] = Field(
        description="`review`: a practitioner looks at the booking before the visit; a call to the clinic is a 422"
    )


@router.post(
    "/clinics/{clinic_id}/screening/check",
    summary="What the clinic makes of screening answers, before any time is chosen",
    tags=["clinic set-up"],
    dependencies=[PUBLIC_RATE_LIMIT],
    responses={
        404: error_response("Unknown clinic"),
        422: error_response(
            "An answer stops online booking (`screening_requires_clinic_contact`: the patient calls the clinic), "
            "or answers are missing or unknown"
        ),
        429: error_response("Too many requests; see Retry-After"),
    },
)
async def check_screening(clinic_id: ClinicId, body: ScreeningCheckIn, uow: UnitOfWork) -> ScreeningCheckOut:
    """Public: so a patient whose answers stop online booking learns it before choosing a time. Nothing
    is stored; the answers are given again with the booking."""
    outcome = await setup.check_screening(uow, clinic_id=clinic_id, answers=body.answers)
    return ScreeningCheckOut(outcome=outcome)


class PatientOut(BaseModel):
    id: UUID
    display_name: str
    email: str | None
    phone: str | None
    preferred_channel: str
    care_messages_consent: bool
    marketing_consent: bool
    consent_text_version: str
    consented_at: datetime
    date_of_birth: date | None
    skin_type: int | None
    concerns: list[Concern]
    erased_at: datetime | None

    @classmethod
    def of(cls, patient: Patient) -> Self:
        return cls(
            id=patient.id,
            display_name=patient.display_name,
            email=patient.email,
            phone=patient.phone,
            preferred_channel=patient.preferred_channel,
            care_messages_consent=patient.care_messages_consent,
            marketing_consent=patient.marketing_consent,
            consent_text_version=patient.consent.text_version,
            consented_at=patient.consent.given_at,
            date_of_birth=patient.health.date_of_birth,
            skin_type=patient.health.skin_type,
            concerns=list(patient.health.concerns),
            erased_at=patient.erased_at,
        )


@router.get(
    "/patients/{patient_id}",
    summary="A patient's record",
    responses={404: error_response("Unknown patient"), 403: error_response("Not a patient of your clinics")},
)
async def get_patient(patient_id: PatientId, uow: UnitOfWork, principal: Staff) -> PatientOut:
    """Contact and health details, for staff of a clinic the patient booked with. Every read is
    recorded (who, when)."""
    return PatientOut.of(await service.read_patient(uow, patient_id=patient_id, reader=principal))


class AnswerOut(BaseModel):
    key: str
    question: str | None = Field(description="the question's current text; null if the clinic removed it since")
    answer: bool
    flagged: bool = Field(description="this answer asked for a practitioner's review")


class ScreeningOut(BaseModel):
    appointment_id: UUID
    patient_id: UUID
    outcome: Literal["clear", "review"]
    answers: list[AnswerOut] = Field(description="empty once the patient is erased")


@router.get(
    "/appointments/{appointment_id}/screening",
    summary="A visit's screening answers",
    tags=["visits"],
    responses={404: error_response("Unknown appointment"), 403: error_response("Not a visit of your clinics")},
)
async def get_screening(appointment_id: UUID, uow: UnitOfWork, principal: Treaters) -> ScreeningOut:
    """What the patient answered when booking, for practitioners, managers and admins of the visit's
    clinic: why a booking was flagged for review. Every read is recorded, as for health details."""
    record = await service.read_screening(uow, appointment_id=appointment_id, reader=principal)
    visit = record.appointment
    asked = {q.key: q for q in record.questions}
    answers = []
    for key, answer in (visit.screening_answers or {}).items():
        question = asked.get(key)
        answers.append(
            AnswerOut(
                key=key,
                question=question.text if question else None,
                answer=answer,
                flagged=question is not None and question.flags(answer),
            )
        )
    return ScreeningOut(
        appointment_id=visit.id, patient_id=visit.patient_id, outcome=visit.screening_outcome, answers=answers
    )


class ErasedOut(BaseModel):
    id: UUID
    erased_at: datetime


@router.post(
    "/patients/{patient_id}/erase",
    summary="Erase a patient",
    responses={404: error_response("Unknown patient")},
)
async def erase(patient_id: PatientId, uow: UnitOfWork, caller: Caller) -> ErasedOut:
    """Removes the patient's personal and health data; their appointments stay, anonymised, and
    `booking.patient.erased.v1` tells the other services. Admins, or the patient through a manage link."""
    if isinstance(caller, ManageGrant):
        if caller.patient_id != patient_id:
            raise Forbidden("this link belongs to another patient", field="patient_id")
    elif caller.role is not Role.ADMIN:
        raise Forbidden("only admins erase patients")
    patient = await service.erase_patient(uow, patient_id=patient_id, now=datetime.now(UTC))
    assert patient.erased_at is not None
    return ErasedOut(id=patient.id, erased_at=patient.erased_at)
