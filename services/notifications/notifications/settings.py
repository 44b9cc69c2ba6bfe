from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from clinic_shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """Read from NOTIFICATIONS_* environment variables; see README, Configuration."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore", frozen=True)

    service_name: str = "notifications"
    http_port: int = 8003
    worker_http_port: int = 8103
    # Development defaults only: the base class refuses them outside development.
    database_url: SecretStr = SecretStr("postgresql+asyncpg://postgres@127.0.0.1:5432/notifications")
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
