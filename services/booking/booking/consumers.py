"""What booking consumes, as a table: event -> handler."""

from __future__ import annotations

from booking.service import saga
from clinic_shared.events import catalogue
from clinic_shared.messaging import Consumer

SUPPLIES = Consumer(
    name="supplies-answers",
    handlers={
        catalogue.SuppliesReserved: saga.confirm_when_supplied,
        catalogue.SuppliesUnavailable: saga.reject_when_unsupplied,
    },
)
