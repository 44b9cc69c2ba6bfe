"""Booking's rules and entities, one module per area. No framework imports: FastAPI, SQLAlchemy and
aio-pika stay outside this package."""

from booking.domain.clinics import (
    WEEKDAYS,
    Address,
    BookingPolicy,
    Clinic,
    ClinicChangedConcurrently,
    ClinicNameTaken,
    ClinicNotFound,
    InvalidBookingPolicy,
    InvalidOpeningHours,
    InvalidPhone,
    OpeningHours,
    OpeningInterval,
    UnknownTimezone,
    Weekday,
    normalised_phone,
    valid_timezone,
)

__all__ = [
    "WEEKDAYS",
    "Address",
    "BookingPolicy",
    "Clinic",
    "ClinicChangedConcurrently",
    "ClinicNameTaken",
    "ClinicNotFound",
    "InvalidBookingPolicy",
    "InvalidOpeningHours",
    "InvalidPhone",
    "OpeningHours",
    "OpeningInterval",
    "UnknownTimezone",
    "Weekday",
    "normalised_phone",
    "valid_timezone",
]
