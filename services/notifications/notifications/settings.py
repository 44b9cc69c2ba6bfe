from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from clinic_shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """Read from NOTIFICATIONS_* environment variables; see README, Configuration."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore", frozen=True)

    service_name: str = "notifications"
    http_port: int = 8003
    worker_http_port: int = 8103
