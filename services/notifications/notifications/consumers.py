"""What notifications consumes, as tables: event -> handler. Booking's patients and visits in one
consumer, inventory's alerts in another (so a burst of stock alerts never holds up a confirmation).
Deliveries are handled concurrently and retries overtake, so no handler relies on order: see
service/projections.py."""

from __future__ import annotations

from clinic_shared.events import catalogue
from clinic_shared.messaging import Consumer
from notifications.service import planning, projections

PATIENTS_AND_VISITS = Consumer(
    name="patients-and-visits",
    handlers={
        catalogue.PatientContactChanged: projections.apply_contact,
        catalogue.PatientErased: projections.forget_patient,
        catalogue.AppointmentRequested: planning.requested,
        catalogue.AppointmentConfirmed: planning.confirmed,
        catalogue.AppointmentRejected: planning.rejected,
        catalogue.AppointmentRescheduled: planning.rescheduled,
        catalogue.AppointmentCancelled: planning.cancelled,
        catalogue.AppointmentCheckedIn: planning.checked_in,
        catalogue.AppointmentCompleted: planning.completed,
        catalogue.AppointmentNoShow: planning.no_show,
        catalogue.WaitlistOfferMade: planning.offer_made,
        catalogue.WaitlistOfferExpired: planning.offer_expired,
    },
)

SUPPLY_ALERTS = Consumer(
    name="supply-alerts",
    handlers={
        **dict.fromkeys(planning.SUPPLY_ALERTS, planning.supply_alert),
        catalogue.LotRecalled: planning.lot_recalled,
    },
)
