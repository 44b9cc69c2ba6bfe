"""Booking's HTTP API: the routers, and the one table from domain errors to HTTP status codes."""

from __future__ import annotations

from booking import availability
from booking.adapters.appointments import CourseChangedConcurrently, SlotTakenBy
from booking.api import clinics, courses, holds, lifecycle, practitioners, schedules, setup, visits, waitlist
from booking.api import patients as patient_routes
from booking.domain import appointments, patients, resources, screening, staff, treatments
from booking.domain import clinics as clinic_rules
from booking.domain import courses as course_rules
from booking.domain import holds as hold_rules
from booking.domain import waitlist as waitlist_rules
from booking.service.schedules import InvalidPeriod
from booking.service.visits import InvalidSearch
from clinic_shared.errors import DomainError

ERROR_STATUS: dict[type[DomainError], int] = {
    clinic_rules.ClinicNotFound: 404,
    staff.PractitionerNotFound: 404,
    treatments.TreatmentNotFound: 404,
    appointments.AppointmentNotFound: 404,
    clinic_rules.ClinicNameTaken: 409,
    clinic_rules.ClinicChangedConcurrently: 409,
    resources.ResourceNameTaken: 409,
    appointments.SlotTaken: 409,
    appointments.IllegalTransition: 409,
    appointments.TooLateToChange: 409,
    appointments.DepthOutOfRange: 422,
    appointments.CompletionIncomplete: 422,
    SlotTakenBy: 409,
    clinic_rules.UnknownTimezone: 422,
    clinic_rules.InvalidPhone: 422,
    clinic_rules.InvalidOpeningHours: 422,
    clinic_rules.InvalidBookingPolicy: 422,
    resources.InvalidClosure: 422,
    staff.InvalidCredential: 422,
    staff.InvalidTimeOff: 422,
    staff.NotWorkingAtClinic: 422,
    treatments.InvalidTreatment: 422,
    treatments.AreaNotOffered: 422,
    patients.InvalidContact: 422,
    patients.InvalidHealthDetails: 422,
    patients.PatientNotFound: 404,
    patients.PatientChangedConcurrently: 409,
    course_rules.CourseNotFound: 404,
    course_rules.InvalidCourse: 422,
    course_rules.OutsideCourseWindow: 422,
    course_rules.CourseFullyBooked: 409,
    CourseChangedConcurrently: 409,
    screening.InvalidScreening: 422,
    screening.ScreeningIncomplete: 422,
    screening.BookByPhone: 422,
    patients.ConsentMissing: 422,
    availability.StartTooSoon: 422,
    availability.StartBeyondHorizon: 422,
    availability.StartOffGrid: 422,
    availability.OutsideOpeningHours: 422,
    availability.StartNotAware: 422,
    InvalidSearch: 422,
    InvalidPeriod: 422,
    waitlist_rules.WaitlistEntryNotFound: 404,
    waitlist_rules.InvalidWaitlistEntry: 422,
    waitlist_rules.TimesAvailable: 409,
    waitlist_rules.NoOpenOffer: 409,
    waitlist_rules.WaitlistEntryClosed: 409,
    appointments.OfferLapsed: 409,
    hold_rules.HoldNotFound: 404,
    hold_rules.HoldNotHeld: 409,
    hold_rules.HoldAlreadyExtended: 409,
    hold_rules.HoldAlreadyBooked: 409,
    hold_rules.HoldMismatch: 422,
}

ROUTERS = (
    clinics.router,
    setup.router,
    practitioners.router,
    practitioners.clinic_router,
    visits.router,
    lifecycle.router,
    schedules.router,
    patient_routes.router,
    courses.router,
    waitlist.router,
    holds.router,
)
