"""Composition root: what the inventory service is made of. Nothing runs at import."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from clinic_shared.projections.clinics import CLINIC_PROJECTION
from clinic_shared.runtime import PeriodicJob, ServiceDefinition
from inventory import api, consumers
from inventory.seed import seed_demo
from inventory.service import alerts
from inventory.settings import InventorySettings

SERVICE = ServiceDefinition(
    name="inventory",
    title="Inventory",
    description=(
        "Sterile needle cartridges, numbing cream and other supplies per clinic and lot; kit reservations "
        "for booked visits, recalls and stock alerts. Errors have the body `{code, message, field}`."
    ),
    settings_class=InventorySettings,
    root=Path(__file__).resolve().parents[1],
    routers=api.ROUTERS,
    error_status=api.ERROR_STATUS,
    consumers=(CLINIC_PROJECTION, consumers.APPOINTMENTS),
    jobs=(
        PeriodicJob(name="lots-expiring", interval_s=3600, run=alerts.sweep_expiring),
        PeriodicJob(name="shortfalls", interval_s=900, run=alerts.announce_shortfalls),
    ),
    seed=seed_demo,
)


def create_app(settings: InventorySettings) -> FastAPI:
    return SERVICE.api(settings)
