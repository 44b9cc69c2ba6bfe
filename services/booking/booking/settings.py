from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from clinic_shared.settings import ServiceSettings


class BookingSettings(ServiceSettings):
    """Read from BOOKING_* environment variables; see README, Configuration."""

    model_config = SettingsConfigDict(env_prefix="BOOKING_", extra="ignore", frozen=True)

    service_name: str = "booking"
    http_port: int = 8001
    worker_http_port: int = 8101
    # Development defaults only: the base class refuses them outside development.
    database_url: SecretStr = SecretStr("postgresql+asyncpg://postgres@127.0.0.1:5432/booking")
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
