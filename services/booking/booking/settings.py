from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from clinic_shared.settings import PatientLinkSettings


class BookingSettings(PatientLinkSettings):
    """Read from BOOKING_* environment variables; see README, Configuration."""

    model_config = SettingsConfigDict(env_prefix="BOOKING_", extra="ignore", frozen=True)

    service_name: str = "booking"
    http_port: int = 8001
    worker_http_port: int = 8101
    # A request inventory has not answered after this long is rejected and its time freed.
    supplies_timeout_s: int = Field(default=120, ge=5)
    # A time offered to a waiting patient is held this long before it goes to the next one.
    waitlist_offer_hold_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    # A time held while a patient fills in their details is kept this long; it can be extended once by
    # as long again, then it lapses and the time is free.
    hold_minutes: int = Field(default=10, ge=1, le=60)
