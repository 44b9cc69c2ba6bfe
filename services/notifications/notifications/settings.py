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
    # Where the patient's pages live: the manage link is <this>/manage/<appointment id>?token=...
    patient_pages_url: str
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
            data.setdefault("patient_pages_url", "http://127.0.0.1:8001")
        return data
