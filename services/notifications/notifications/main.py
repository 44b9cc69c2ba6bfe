"""Composition root: what the notifications service is made of. Nothing runs at import."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from clinic_shared.projections.clinics import CLINIC_PROJECTION, clinic_projection_router
from clinic_shared.runtime import ServiceDefinition
from notifications.settings import NotificationsSettings

SERVICE = ServiceDefinition(
    name="notifications",
    title="Notifications",
    description=(
        "Confirmations, reminders and aftercare sequences to patients by e-mail and SMS, alerts to clinic "
        "managers; consent, quiet hours, retries and a delivery record. Errors have the body `{code, message, field}`."
    ),
    settings_class=NotificationsSettings,
    root=Path(__file__).resolve().parents[1],
    routers=(clinic_projection_router(),),
    consumers=(CLINIC_PROJECTION,),
)


def create_app(settings: NotificationsSettings) -> FastAPI:
    return SERVICE.api(settings)
