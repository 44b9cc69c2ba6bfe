"""What inventory consumes, as a table: event -> handler."""

from __future__ import annotations

from clinic_shared.events import catalogue
from clinic_shared.messaging import Consumer
from inventory.service import reservations

APPOINTMENTS = Consumer(
    name="appointment-supplies",
    handlers={
        catalogue.AppointmentRequested: reservations.reserve_for_visit,
        catalogue.AppointmentCancelled: reservations.release_on_cancel,
        catalogue.AppointmentRejected: reservations.release_on_reject,
        catalogue.AppointmentNoShow: reservations.release_on_no_show,
        catalogue.AppointmentCompleted: reservations.consume_on_completion,
        catalogue.AppointmentRescheduled: reservations.recheck_on_reschedule,
    },
)
