"""Clinic routes: open, change, list and read clinics, with their booking policy."""

from __future__ import annotations

from typing import Self
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel, Field, StrictInt, model_validator

from booking import domain
from booking.api.common import Admin, ClinicId, ClinicManager, Strict, UnitOfWork
from booking.domain.areas import Area
from booking.service import clinics as service
from clinic_shared.pagination import Page, PageParams
from clinic_shared.web import ERROR_RESPONSES, LocalTime, error_response


class AddressIn(Strict):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code, e.g. NL")

    def to_domain(self) -> domain.Address:
        return domain.Address(
            line1=self.line1, line2=self.line2, city=self.city, postal_code=self.postal_code, country=self.country
        )


class Interval(Strict):
    opens: LocalTime = Field(description="local time, HH:MM")
    closes: LocalTime = Field(description="local time, HH:MM; after `opens`")


class OpeningHoursIn(Strict):
    """Intervals per weekday in the clinic's local time; a weekday left out is closed."""

    monday: list[Interval] = Field(default_factory=list, max_length=4)
    tuesday: list[Interval] = Field(default_factory=list, max_length=4)
    wednesday: list[Interval] = Field(default_factory=list, max_length=4)
    thursday: list[Interval] = Field(default_factory=list, max_length=4)
    friday: list[Interval] = Field(default_factory=list, max_length=4)
    saturday: list[Interval] = Field(default_factory=list, max_length=4)
    sunday: list[Interval] = Field(default_factory=list, max_length=4)

    def to_domain(self, *, field: str = "opening_hours") -> domain.OpeningHours:
        return domain.OpeningHours.of(
            {
                day: [domain.OpeningInterval(opens=i.opens, closes=i.closes) for i in getattr(self, day)]
                for day in domain.WEEKDAYS
            },
            field=field,
        )

    @classmethod
    def from_domain(cls, hours: domain.OpeningHours) -> Self:
        return cls.model_validate(
            {day: [{"opens": i.opens, "closes": i.closes} for i in intervals] for day, intervals in hours.days.items()}
        )


class BookingPolicyIn(Strict):
    slot_grid_minutes: StrictInt = Field(default=15, description="start times fall on this grid (5-60, tiles an hour)")
    min_notice_minutes: StrictInt = Field(default=120, ge=0, description="earliest online start after now")
    horizon_days: StrictInt = Field(default=90, ge=1, description="latest online start, in days from now")
    cancellation_cutoff_hours: StrictInt = Field(
        default=24, ge=0, description="patients cancel or reschedule online until this long before the visit"
    )
    needle_depth_mm: dict[Area, tuple[float, float]] = Field(
        default_factory=lambda: dict(domain.clinics.DEFAULT_DEPTHS_MM),
        description="allowed needle depth per area, [min, max] in mm (areas left out keep the defaults)",
    )
    course_min_weeks: StrictInt = Field(
        default=4, ge=1, le=26, description="a course's sessions are at least this far apart"
    )
    course_max_weeks: StrictInt = Field(default=6, ge=1, le=26, description="... and at most this far")

    def to_domain(self) -> domain.BookingPolicy:
        return domain.BookingPolicy(**self.model_dump())


class BookingPolicyPatch(Strict):
    """Only the fields given change."""

    slot_grid_minutes: StrictInt | None = None
    min_notice_minutes: StrictInt | None = Field(default=None, ge=0)
    horizon_days: StrictInt | None = Field(default=None, ge=1)
    cancellation_cutoff_hours: StrictInt | None = Field(default=None, ge=0)
    needle_depth_mm: dict[Area, tuple[float, float]] | None = None
    course_min_weeks: StrictInt | None = Field(default=None, ge=1, le=26)
    course_max_weeks: StrictInt | None = Field(default=None, ge=1, le=26)


class ClinicIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    address: AddressIn
    timezone: str = Field(max_length=64, description="IANA time zone", examples=["Europe/Amsterdam"])
    phone: str = Field(max_length=32, description="international format", examples=["+31 20 123 4567"])
    opening_hours: OpeningHoursIn
    booking_policy: BookingPolicyIn = Field(default_factory=BookingPolicyIn)


class ClinicPatch(Strict):
    """Only the fields given change; at least one is required."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    address: AddressIn | None = None
    timezone: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    opening_hours: OpeningHoursIn | None = None
    booking_policy: BookingPolicyPatch | None = None

    @model_validator(mode="after")
    def _something_changes(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ClinicOut(BaseModel):
    id: UUID
    revision: int
    name: str
    address: AddressIn
    timezone: str
    phone: str
    opening_hours: OpeningHoursIn
    booking_policy: BookingPolicyIn

    @classmethod
    def of(cls, clinic: domain.Clinic) -> Self:
        return cls(
            id=clinic.id,
            revision=clinic.revision,
            name=clinic.name,
            address=AddressIn.model_validate(clinic.address, from_attributes=True),
            timezone=clinic.timezone,
            phone=clinic.phone,
            opening_hours=OpeningHoursIn.from_domain(clinic.opening_hours),
            booking_policy=BookingPolicyIn.model_validate(clinic.policy, from_attributes=True),
        )


router = APIRouter(prefix="/clinics", tags=["clinics"], responses=ERROR_RESPONSES)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Open a clinic",
    responses={409: error_response("A clinic with this name exists")},
)
async def create_clinic(body: ClinicIn, uow: UnitOfWork, _: Admin) -> ClinicOut:
    """Registers a clinic and announces it (`booking.clinic.changed.v1`) to inventory and
    notifications. Admins only."""
    clinic = await service.register_clinic(
        uow,
        name=body.name,
        address=body.address.to_domain(),
        timezone=body.timezone,
        phone=body.phone,
        opening_hours=body.opening_hours.to_domain(),
        policy=body.booking_policy.to_domain(),
    )
    return ClinicOut.of(clinic)


@router.patch(
    "/{clinic_id}",
    summary="Change a clinic",
    responses={
        404: error_response("Unknown clinic"),
        409: error_response("Name taken, or changed concurrently"),
    },
)
async def update_clinic(clinic_id: ClinicId, body: ClinicPatch, uow: UnitOfWork, principal: ClinicManager) -> ClinicOut:
    """Changes the given fields and announces the new revision. Admins, or managers of this clinic."""
    clinic = await service.change_clinic(
        uow,
        clinic_id=clinic_id,
        name=body.name,
        address=body.address.to_domain() if body.address else None,
        timezone=body.timezone,
        phone=body.phone,
        opening_hours=body.opening_hours.to_domain() if body.opening_hours else None,
        policy_changes=body.booking_policy.model_dump(exclude_none=True) if body.booking_policy else None,
    )
    return ClinicOut.of(clinic)


@router.get("", summary="List clinics")
async def list_clinics(uow: UnitOfWork, page: PageParams) -> Page[ClinicOut]:
    """All clinics of the chain in name order. Public: patients choose a clinic here."""
    clinics = await service.list_clinics(uow, offset=page.offset, limit=page.fetch)
    return Page[ClinicOut].of([ClinicOut.of(c) for c in clinics], page)


@router.get("/{clinic_id}", summary="One clinic", responses={404: error_response("Unknown clinic")})
async def get_clinic(clinic_id: ClinicId, uow: UnitOfWork) -> ClinicOut:
    """A clinic's address, time zone, phone and opening hours. Public."""
    return ClinicOut.of(await service.find_clinic(uow, clinic_id=clinic_id))
