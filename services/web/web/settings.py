from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from clinic_shared.settings import ServiceSettings


class WebSettings(ServiceSettings):
    """Read from WEB_* environment variables; see README, Configuration."""

    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore", frozen=True)

    uses_broker: ClassVar[bool] = False  # a client of the APIs; it hears no events
    service_name: str = "web"
    http_port: int = 8000
    worker_http_port: int = 8100  # the web service has no worker; the base settings name the port
    # Where the pages call the three APIs (directly, not through the gateway). Development defaults only.
    booking_api_url: str
    inventory_api_url: str
    notifications_api_url: str
    # Where visitors reach the site (the gateway): the sign-in redirect and absolute links are built on it.
    public_url: str
    # A call to an API that takes longer fails the page with "try again"; reads are tried again this often.
    api_timeout_s: float = Field(default=5.0, gt=0)
    api_read_retries: int = Field(default=2, ge=0, le=5)
    # A clinic, its treatments, practitioners and screening questions are kept this long by each web
    # process (0: asked for on every page); a change by the clinic shows on the pages within it.
    reference_ttl_s: float = Field(default=30.0, ge=0, le=600)
    # Staff sign-in: the chain's OpenID provider (authorization code with PKCE).
    oidc_issuer: str
    oidc_client_id: str
    oidc_client_secret: SecretStr
    # Sessions: a staff session ends after this long without a request, and at the latest after this long.
    staff_idle_minutes: int = Field(default=30, ge=1)
    staff_absolute_hours: int = Field(default=12, ge=1)
    # A patient's session holds the links they opened (and their hold) while they use the pages.
    patient_idle_minutes: int = Field(default=120, ge=1)
    patient_absolute_hours: int = Field(default=24, ge=1)
    # The consent text patients accept, by version (its text is in the templates).
    consent_text_version: str = "2026-11"

    @model_validator(mode="before")
    @classmethod
    def _local_defaults_in_development(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("environment") == "development":
            data.setdefault("booking_api_url", "http://127.0.0.1:8001")
            data.setdefault("inventory_api_url", "http://127.0.0.1:8002")
            data.setdefault("notifications_api_url", "http://127.0.0.1:8003")
            data.setdefault("public_url", "http://127.0.0.1:8080")
            data.setdefault("oidc_issuer", "http://127.0.0.1:8090")
            data.setdefault("oidc_client_id", "clinic-web")
            data.setdefault("oidc_client_secret", "development-only-web-client-secret")
        return data

    @model_validator(mode="after")
    def _real_client_secret_outside_development(self) -> Self:
        secret = self.oidc_client_secret.get_secret_value()
        if self.environment != "development" and (len(secret) < 24 or "development" in secret):
            raise ValueError("oidc_client_secret must be the provider's real client secret")
        if self.environment != "development" and not self.public_url.startswith("https://"):
            raise ValueError("public_url must be https outside development (cookies are Secure there)")
        return self

    @property
    def secure_cookies(self) -> bool:
        return self.environment != "development"
