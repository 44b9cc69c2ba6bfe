"""What notifications consumes, as a table: event -> handler."""

from __future__ import annotations

from clinic_shared.events import catalogue
from clinic_shared.messaging import Consumer
from notifications.service import projections

PATIENTS_AND_VISITS = Consumer(
    name="patients-and-visits",
    handlers={
        catalogue.PatientContactChanged: projections.apply_contact,
        catalogue.PatientErased: projections.forget_patient,
        catalogue.AppointmentConfirmed: projections.confirm,
        catalogue.AppointmentCancelled: projections.cancel,
        catalogue.AppointmentRescheduled: projections.move,
    },
)
