from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from clinic_shared.settings import ServiceSettings


class BookingSettings(ServiceSettings):
    """Read from BOOKING_* environment variables; see README, Configuration."""

    model_config = SettingsConfigDict(env_prefix="BOOKING_", extra="ignore", frozen=True)

    service_name: str = "booking"
    http_port: int = 8001
    worker_http_port: int = 8101
