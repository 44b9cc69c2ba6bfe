from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from clinic_shared.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    """Read from INVENTORY_* environment variables; see README, Configuration."""

    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore", frozen=True)

    service_name: str = "inventory"
    http_port: int = 8002
    worker_http_port: int = 8102
    # A delivery whose lot expires within this many days is refused at the door.
    receiving_expiry_margin_days: int = Field(default=30, ge=0, le=365)
    # `lot expiring` goes out for lots with stock expiring within this many days.
    expiry_warning_days: int = Field(default=30, ge=1, le=365)
    # How far ahead the shortfall job looks (GET /forecast takes its own `days`, 30 by default).
    forecast_days: int = Field(default=60, ge=1, le=365)
