"""Composition root: what the booking service is made of. Nothing runs at import."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from booking import api
from booking.seed import seed_demo
from booking.settings import BookingSettings
from clinic_shared.runtime import ServiceDefinition

SERVICE = ServiceDefinition(
    name="booking",
    title="Booking",
    description=(
        "Clinics, practitioners, rooms and devices; availability and online booking of microneedling "
        "visits; the visit lifecycle. Errors have the body `{code, message, field}`."
    ),
    settings_class=BookingSettings,
    root=Path(__file__).resolve().parents[1],
    routers=(api.router,),
    error_status=api.ERROR_STATUS,
    seed=seed_demo,
)


def create_app(settings: BookingSettings) -> FastAPI:
    return SERVICE.api(settings)
