from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from clinic_shared.settings import PatientLinkSettings


class NotificationsSettings(PatientLinkSettings):
    """Read from NOTIFICATIONS_* environment variables; see README, Configuration."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore", frozen=True)

    service_name: str = "notifications"
    http_port: int = 8003
    worker_http_port: int = 8103
    # E-mail goes out through this SMTP server. Only development has defaults (a local sink on
    # 127.0.0.1:1025): anywhere else a loopback default would lose every message quietly.
    smtp_host: str
    smtp_port: int = Field(ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_from: str = "Microneedling clinics <no-reply@clinic.example>"
    # Text messages go through an HTTP provider (see adapters/sms.py for the protocol), and through the
    # fallback provider when the first fails for a passing reason. Only development has defaults (the
    # local fake provider, `notifications-fake-sms`).
    sms_primary_url: str
    sms_primary_key: SecretStr
    sms_fallback_url: str | None = None
    sms_fallback_key: SecretStr | None = None
    sms_timeout_s: float = Field(default=5.0, gt=0)
    # Manager alerts (stock low, lot expiring, shortfall, recall) go to a clinic's alert recipients
    # (set through the API); a clinic with none set falls back to this address.
    operations_email: str
    # Sent messages and their delivery record are deleted after this many days.
    retention_days: int = Field(default=400, ge=30)
    # The one address every link in a message starts with: the gateway, where the pages live
    # (`/manage/<visit>?token=`, `/waitlist/<entry>?token=`, `/clinics/<id>`, `/staff/clinics/<id>/stock`) and this
    # service's own pages (`/api/notifications/p/preferences?token=`, `/p/unsubscribe`).
    public_base_url: str
    # A message that failed for a passing reason is tried again after growing delays, this many times.
    max_attempts: int = Field(default=6, ge=1, le=20)
    retry_base_s: float = Field(default=30.0, gt=0)
    # A message left in `sending` this long (a worker died mid-send) is tried again.
    stuck_sending_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _development_mail_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("environment") == "development":
            data.setdefault("smtp_host", "127.0.0.1")
            data.setdefault("smtp_port", 1025)
            data.setdefault("public_base_url", "http://127.0.0.1:8080")
            data.setdefault("sms_primary_url", "http://127.0.0.1:8190")
            data.setdefault("sms_primary_key", "development-sms-key")
            data.setdefault("operations_email", "operations@clinic.example")
        return data
