from __future__ import annotations

from typing import Any, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from clinic_shared.settings import ServiceSettings


class BookingSettings(ServiceSettings):
    """Read from BOOKING_* environment variables; see README, Configuration."""

    model_config = SettingsConfigDict(env_prefix="BOOKING_", extra="ignore", frozen=True)

    service_name: str = "booking"
    http_port: int = 8001
    worker_http_port: int = 8101
    # A request inventory has not answered after this long is rejected and its time freed.
    supplies_timeout_s: int = Field(default=120, ge=5)
    # A time offered to a waiting patient is held this long before it goes to the next one.
    waitlist_offer_hold_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    # Signs the links patients get to view, reschedule and cancel one appointment.
    manage_link_secret: SecretStr

    @model_validator(mode="before")
    @classmethod
    def _development_link_secret(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("environment") == "development":
            data.setdefault("manage_link_secret", "development-only-manage-link-secret")
        return data

    @model_validator(mode="after")
    def _real_link_secret_outside_development(self) -> Self:
        secret = self.manage_link_secret.get_secret_value()
        if self.environment != "development" and (len(secret) < 32 or "development" in secret):
            raise ValueError("manage_link_secret must be a random secret of at least 32 characters")
        return self
