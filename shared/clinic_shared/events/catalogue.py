"""Every event on the bus (DESIGN.md, event catalogue). Payloads carry ids and facts, no health data.

The only personal data on the bus is a patient's contact details in `PatientContactChanged`, which
notifications cannot work without; it never reaches a log line. Screening answers, concerns, notes
and needle depths stay in booking's database.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clinic_shared.events.envelope import Event

Area = Literal["face", "neck", "decolletage", "hands"]
Channel = Literal["email", "sms"]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=3)]


class Fact(BaseModel):
    """A value object nested inside a payload."""

    model_config = ConfigDict(extra="ignore", frozen=True)


# --- booking: clinics -------------------------------------------------------------------------


class Address(Fact):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")


class ClinicChanged(Event):
    """A clinic was created or changed. `revision` grows by one per change, so a projection can
    ignore a stale event that arrives after a newer one."""

    event_type = "booking.clinic.changed"

    clinic_id: UUID
    revision: int = Field(ge=1)
    name: str
    address: Address
    timezone: str = Field(description="IANA time zone, e.g. Europe/Amsterdam")
    phone: str


# --- booking: appointments ----------------------------------------------------------------------


class AppointmentFacts(Event):
    appointment_id: UUID
    clinic_id: UUID
    patient_id: UUID


class AppointmentRequested(AppointmentFacts):
    event_type = "booking.appointment.requested"

    treatment_id: UUID
    practitioner_id: UUID
    room_id: UUID
    device_id: UUID
    areas: list[Area] = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    course_id: UUID | None = None
    session_number: int | None = Field(default=None, ge=1)
    # The device's model, when the clinic recorded one: inventory reserves a cartridge that fits it.
    device_model: str | None = Field(default=None, max_length=120)


class AppointmentConfirmed(AppointmentFacts):
    event_type = "booking.appointment.confirmed"

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    areas: list[Area] = Field(min_length=1)
    practitioner_id: UUID


class AppointmentRejected(AppointmentFacts):
    event_type = "booking.appointment.rejected"

    reason: Literal["supplies_unavailable", "supplies_timeout"]


class AppointmentRescheduled(AppointmentFacts):
    event_type = "booking.appointment.rescheduled"

    previous_starts_at: AwareDatetime
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    areas: list[Area] = Field(min_length=1)
    practitioner_id: UUID
    room_id: UUID
    device_id: UUID


class AppointmentCancelled(AppointmentFacts):
    event_type = "booking.appointment.cancelled"

    cancelled_by: Literal["patient", "staff", "system"]
    # A code, not the staff member's free text, which could hold health details.
    reason_code: str | None = Field(default=None, max_length=64)


class AppointmentCheckedIn(AppointmentFacts):
    event_type = "booking.appointment.checked_in"

    checked_in_at: AwareDatetime


class LotUsed(Fact):
    item_id: UUID
    lot_number: str = Field(min_length=1, max_length=64)


class NextSession(Fact):
    """The next session of a course still to be booked: its number and the clinic's local days it may
    fall on (both included)."""

    session_number: int = Field(ge=2)
    first_day: date
    last_day: date


class AppointmentCompleted(AppointmentFacts):
    event_type = "booking.appointment.completed"

    completed_at: AwareDatetime
    areas: list[Area] = Field(min_length=1)
    lots_used: list[LotUsed]
    course_id: UUID | None = None
    session_number: int | None = Field(default=None, ge=1)
    next_session: NextSession | None = Field(
        default=None, description="set when the visit belongs to a course whose next session is not booked yet"
    )


class AppointmentNoShow(AppointmentFacts):
    event_type = "booking.appointment.no_show"

    marked_at: AwareDatetime


# --- booking: waitlist ----------------------------------------------------------------------------


class WaitlistOfferMade(Event):
    event_type = "booking.waitlist.offer_made"

    offer_id: UUID
    waitlist_entry_id: UUID
    patient_id: UUID
    clinic_id: UUID
    treatment_id: UUID
    areas: list[Area] = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    expires_at: AwareDatetime


class WaitlistOfferExpired(Event):
    event_type = "booking.waitlist.offer_expired"

    offer_id: UUID
    waitlist_entry_id: UUID
    patient_id: UUID
    clinic_id: UUID


# --- booking: patients ----------------------------------------------------------------------------


class PatientContactChanged(Event):
    """Contact details and messaging consent only: never screening answers, concerns or notes."""

    event_type = "booking.patient.contact_changed"

    patient_id: UUID
    revision: int = Field(ge=1)
    display_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    preferred_channel: Channel
    locale: str = Field(default="en", max_length=16)
    care_messages_consent: bool
    marketing_consent: bool


class PatientErased(Event):
    event_type = "booking.patient.erased"

    patient_id: UUID
    erased_at: AwareDatetime


# --- inventory: supplies for appointments ----------------------------------------------------------


class LotAllocation(Fact):
    item_id: UUID
    lot_number: str = Field(min_length=1, max_length=64)
    expires_on: date
    quantity: Quantity
    unit: Literal["each", "gram", "tube"]


class MissingSupply(Fact):
    item_id: UUID
    required: Quantity
    available: Decimal = Field(ge=0)
    unit: Literal["each", "gram", "tube"]


class SuppliesReserved(Event):
    event_type = "inventory.supplies.reserved"

    appointment_id: UUID
    clinic_id: UUID
    allocations: list[LotAllocation] = Field(min_length=1)


class SuppliesUnavailable(Event):
    event_type = "inventory.supplies.unavailable"

    appointment_id: UUID
    clinic_id: UUID
    reason: Literal["insufficient_stock", "no_valid_lot", "no_kit_defined"]
    missing: list[MissingSupply]


class SuppliesReleased(Event):
    event_type = "inventory.supplies.released"

    appointment_id: UUID
    clinic_id: UUID
    reason: Literal["cancelled", "rejected", "no_show", "rescheduled"]


class SuppliesConsumed(Event):
    event_type = "inventory.supplies.consumed"

    appointment_id: UUID
    clinic_id: UUID
    consumed: list[LotAllocation] = Field(min_length=1)


# --- inventory: stock alerts ------------------------------------------------------------------------


class StockLow(Event):
    event_type = "inventory.stock.low"

    clinic_id: UUID
    item_id: UUID
    item_name: str
    available: Decimal = Field(ge=0)
    reorder_point: Decimal = Field(ge=0)
    unit: Literal["each", "gram", "tube"]


class LotExpiring(Event):
    event_type = "inventory.lot.expiring"

    clinic_id: UUID
    item_id: UUID
    item_name: str
    lot_number: str
    expires_on: date
    on_hand: Decimal = Field(ge=0)


class AffectedAppointment(Fact):
    appointment_id: UUID
    clinic_id: UUID


class LotRecalled(Event):
    event_type = "inventory.lot.recalled"

    recall_id: UUID
    item_id: UUID
    item_name: str
    lot_number: str
    affected_appointments: list[AffectedAppointment]


class ShortfallProjected(Event):
    event_type = "inventory.shortfall.projected"

    clinic_id: UUID
    item_id: UUID
    item_name: str
    on_date: date
    required: Decimal = Field(ge=0)
    available: Decimal = Field(ge=0)
    unit: Literal["each", "gram", "tube"]


# --- notifications -----------------------------------------------------------------------------------


class MessageDelivered(Event):
    event_type = "notifications.message.delivered"

    message_id: UUID
    kind: str
    channel: Channel
    clinic_id: UUID
    appointment_id: UUID | None = None
    provider: str
    delivered_at: AwareDatetime


class MessageFailed(Event):
    event_type = "notifications.message.failed"

    message_id: UUID
    kind: str
    channel: Channel
    clinic_id: UUID
    appointment_id: UUID | None = None
    permanent: bool
    error_code: str
    failed_at: AwareDatetime


CATALOGUE: tuple[type[Event], ...] = (
    ClinicChanged,
    AppointmentRequested,
    AppointmentConfirmed,
    AppointmentRejected,
    AppointmentRescheduled,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentCompleted,
    AppointmentNoShow,
    WaitlistOfferMade,
    WaitlistOfferExpired,
    PatientContactChanged,
    PatientErased,
    SuppliesReserved,
    SuppliesUnavailable,
    SuppliesReleased,
    SuppliesConsumed,
    StockLow,
    LotExpiring,
    LotRecalled,
    ShortfallProjected,
    MessageDelivered,
    MessageFailed,
)

BY_ROUTING_KEY: dict[str, type[Event]] = {event.routing_key(): event for event in CATALOGUE}
