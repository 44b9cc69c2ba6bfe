from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from clinic_shared.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    """Read from INVENTORY_* environment variables; see README, Configuration."""

    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore", frozen=True)

    service_name: str = "inventory"
    http_port: int = 8002
    worker_http_port: int = 8102
