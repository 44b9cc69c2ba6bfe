from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from clinic_shared.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    """Read from INVENTORY_* environment variables; see README, Configuration."""

    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore", frozen=True)

    service_name: str = "inventory"
    http_port: int = 8002
    worker_http_port: int = 8102
    # Development defaults only: the base class refuses them outside development.
    database_url: SecretStr = SecretStr("postgresql+asyncpg://postgres@127.0.0.1:5432/inventory")
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
