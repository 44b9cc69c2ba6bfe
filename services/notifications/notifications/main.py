"""Composition root: what the notifications service is made of. Nothing runs at import."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from clinic_shared.projections.clinics import CLINIC_PROJECTION
from clinic_shared.runtime import PeriodicJob, ServiceDefinition
from notifications import api, consumers
from notifications.service import rendering, retention, sending
from notifications.settings import NotificationsSettings

SERVICE = ServiceDefinition(
    name="notifications",
    title="Notifications",
    description=(
        "Messages to patients (confirmations, reminders, moves, cancellations, aftercare, the next session, "
        "waitlist offers, recall notices) by e-mail and SMS, and supply alerts to clinic managers; with consent "
        "per channel and category, quiet hours, retries and a delivery record. Clinics edit their own versioned "
        "templates. Errors have the body `{code, message, field}`."
    ),
    settings_class=NotificationsSettings,
    root=Path(__file__).resolve().parents[1],
    routers=api.ROUTERS,
    consumers=(CLINIC_PROJECTION, consumers.PATIENTS_AND_VISITS, consumers.SUPPLY_ALERTS),
    jobs=(
        PeriodicJob(name="send-due-messages", interval_s=1, run=sending.send_due),
        PeriodicJob(name="prune-old-messages", interval_s=3600, run=retention.prune_job),
    ),
    resources=lambda _app: rendering.ISOLATED.running(),
)


def create_app(settings: NotificationsSettings) -> FastAPI:
    return SERVICE.api(settings)
