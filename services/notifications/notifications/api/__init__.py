"""Notifications' HTTP API, one module per subject."""

from __future__ import annotations

from clinic_shared.projections.clinics import clinic_projection_router
from notifications.api import clinic_settings, messages, patient_links, templates

ROUTERS = (
    clinic_projection_router(),
    messages.router,
    templates.router,
    clinic_settings.router,
    patient_links.router,
)
