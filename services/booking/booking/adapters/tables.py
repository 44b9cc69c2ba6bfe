"""Booking's tables as SQLAlchemy Core objects (the migrations hold the frozen DDL)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from clinic_shared.db import new_metadata

metadata = new_metadata()

clinics = Table(
    "clinics",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("address", JSONB, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("opening_hours", JSONB, nullable=False),
    Column("booking_policy", JSONB, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("revision >= 1", name="revision_positive"),
    CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
)
Index("uq_clinics_lower_name", func.lower(clinics.c.name), unique=True)

closures = Table(
    "clinic_closures",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False, index=True),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("reason", Text),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("model", Text),
    Column("active", Boolean, nullable=False),
)

practitioners = Table(
    "practitioners",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("profession", Text, nullable=False),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("practitioner_id", Uuid, ForeignKey("practitioners.id"), nullable=False, index=True),
    Column("number", Text, nullable=False),
    Column("issuer", Text, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=False),
    Column("covers", ARRAY(Text), nullable=False),
)

practitioner_clinics = Table(
    "practitioner_clinics",
    metadata,
    Column("practitioner_id", Uuid, ForeignKey("practitioners.id"), primary_key=True),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), primary_key=True),
    Column("working_hours", JSONB, nullable=False),
)

time_off = Table(
    "time_off",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("practitioner_id", Uuid, ForeignKey("practitioners.id"), nullable=False, index=True),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
)

treatments = Table(
    "treatments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("numbing_minutes", Integer, nullable=False),
    Column("procedure_minutes", JSONB, nullable=False),
    Column("turnover_minutes", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
)

patients = Table(
    "patients",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("email", Text),
    Column("phone", Text),
    Column("preferred_channel", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("care_messages_consent", Boolean, nullable=False),
    Column("marketing_consent", Boolean, nullable=False),
    Column("consent_text_version", Text, nullable=False),
    Column("consented_at", DateTime(timezone=True), nullable=False),
    Column("date_of_birth", Date),
    Column("skin_type", SmallInteger),
    Column("concerns", ARRAY(Text), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("erased_at", DateTime(timezone=True)),
)

screening_questions = Table(
    "screening_questions",
    metadata,
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("flags_when", Boolean, nullable=False),
    Column("effect", Text, nullable=False),
)

health_data_reads = Table(
    "health_data_reads",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False, index=True),
    Column("read_by", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False, index=True),
    # NULL only on a hold, or a hold that ended unbooked (migration 0007: `ck_appointments_patient_named`).
    Column("patient_id", Uuid, ForeignKey("patients.id"), index=True),
    Column("treatment_id", Uuid, ForeignKey("treatments.id"), nullable=False),
    Column("practitioner_id", Uuid, ForeignKey("practitioners.id"), nullable=False),
    Column("room_id", Uuid, ForeignKey("rooms.id"), nullable=False),
    Column("device_id", Uuid, ForeignKey("devices.id"), nullable=False),
    Column("areas", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("procedure_starts_at", DateTime(timezone=True), nullable=False),
    Column("procedure_ends_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("rejection_reason", Text),
    Column("cancelled_by", Text),
    Column("cancel_reason_code", Text),
    Column("checked_in_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("needle_depths_mm", JSONB),
    Column("lots_used", JSONB, nullable=False),
    Column("screening_outcome", Text, nullable=False),
    Column("screening_answers", JSONB),
    Column("course_id", Uuid, ForeignKey("courses.id"), index=True),
    Column("session_number", Integer),
    Column("waitlist_entry_id", Uuid, ForeignKey("waitlist_entries.id")),
    Column("offer_expires_at", DateTime(timezone=True)),
    # Set on a hold: until when its time is kept, and when it was extended (once at the most).
    Column("held_until", DateTime(timezone=True)),
    Column("hold_extended_at", DateTime(timezone=True)),
)

waitlist_entries = Table(
    "waitlist_entries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False, index=True),
    Column("treatment_id", Uuid, ForeignKey("treatments.id"), nullable=False),
    Column("areas", ARRAY(Text), nullable=False),
    Column("practitioner_id", Uuid, ForeignKey("practitioners.id")),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("status", Text, nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    Column("offers_made", Integer, nullable=False),
)

# Written by a trigger whenever a holding visit stops holding or moves (migration 0006).
freed_times = Table(
    "freed_times",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("clinic_id", Uuid, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("freed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

courses = Table(
    "courses",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("clinic_id", Uuid, ForeignKey("clinics.id"), nullable=False, index=True),
    Column("patient_id", Uuid, ForeignKey("patients.id"), nullable=False, index=True),
    Column("treatment_id", Uuid, ForeignKey("treatments.id"), nullable=False),
    Column("areas", ARRAY(Text), nullable=False),
    Column("sessions_planned", Integer, nullable=False),
)

# What each resource is busy for during a visit: the room from arrival to the end of cleaning, the
# practitioner for the procedure, the device for the procedure and its cleaning. The exclusion constraints
# `ex_appointments_<resource>` (migrations 0002, 0006 and 0007) refuse two holding visits whose periods
# overlap on one resource; a test compares them with this table.
SLOT_PERIODS = {
    "room": (appointments.c.room_id, appointments.c.starts_at, appointments.c.ends_at),
    "practitioner": (
        appointments.c.practitioner_id, appointments.c.procedure_starts_at, appointments.c.procedure_ends_at
    ),
    "device": (appointments.c.device_id, appointments.c.procedure_starts_at, appointments.c.ends_at),
}  # fmt: skip
SLOT_CONSTRAINTS = frozenset(f"ex_appointments_{resource}" for resource in SLOT_PERIODS)
