"""Composition root: what the notifications service is made of. Nothing runs at import."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from clinic_shared.projections.clinics import CLINIC_PROJECTION
from clinic_shared.runtime import PeriodicJob, ServiceDefinition
from notifications import api, consumers
from notifications.service import sending
from notifications.settings import NotificationsSettings

SERVICE = ServiceDefinition(
    name="notifications",
    title="Notifications",
    description=(
        "Messages to patients: so far the booking confirmation by e-mail (with the manage link and a calendar "
        "file), sent with consent, retries and a delivery record staff can read. Errors have the body "
        "`{code, message, field}`."
    ),
    settings_class=NotificationsSettings,
    root=Path(__file__).resolve().parents[1],
    routers=api.ROUTERS,
    consumers=(CLINIC_PROJECTION, consumers.PATIENTS_AND_VISITS),
    jobs=(PeriodicJob(name="send-due-messages", interval_s=1, run=sending.send_due),),
)


def create_app(settings: NotificationsSettings) -> FastAPI:
    return SERVICE.api(settings)
