"""Composition root: what the booking service is made of. Nothing runs at import."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from booking import api, consumers
from booking.seed import seed_demo
from booking.service import holds, saga, waitlist
from booking.settings import BookingSettings
from clinic_shared.idempotency import prune_expired_keys
from clinic_shared.runtime import PeriodicJob, ServiceDefinition

SERVICE = ServiceDefinition(
    name="booking",
    title="Booking",
    description=(
        "Clinics, practitioners, rooms and devices; availability and online booking of microneedling "
        "visits; the visit lifecycle. Errors have the body `{code, message, field}`."
    ),
    settings_class=BookingSettings,
    root=Path(__file__).resolve().parents[1],
    routers=api.ROUTERS,
    error_status=api.ERROR_STATUS,
    consumers=(consumers.SUPPLIES,),
    jobs=(
        PeriodicJob(name="supplies-timeout", interval_s=5, run=saga.reject_unanswered),
        PeriodicJob(name="waitlist-offers", interval_s=2, run=waitlist.offer_freed_times),
        PeriodicJob(name="holds-lapse", interval_s=5, run=holds.lapse_holds),
        PeriodicJob(name="idempotency-retention", interval_s=3600, run=prune_expired_keys),
    ),
    seed=seed_demo,
)


def create_app(settings: BookingSettings) -> FastAPI:
    return SERVICE.api(settings)
