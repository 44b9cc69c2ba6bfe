"""The settings every service shares; each service subclasses it with its own env prefix."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "staging", "production"]

# Values that ship in examples, compose files and tutorials. Outside development a secret equal to
# one of these (or containing one as its password) is refused at start-up, so a forgotten default
# can never reach a clinic's data.
DEVELOPMENT_ISSUER = "clinic-dev-issuer"

PLACEHOLDER_SECRETS = frozenset({"", "guest", "postgres", "changeme", "change-me", "secret", "password", "dev"})


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # No default: a deployment that forgets to say what it is must not silently get development's leniency.
    environment: Environment
    service_name: str
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Both URLs default to the local services in development only (see below); elsewhere required.
    database_url: SecretStr = Field(description="SQLAlchemy URL, postgresql+asyncpg://user:pass@host/db")
    # Connections per process at the most; each stays open once made.
    database_pool_size: int = Field(default=10, ge=1)

    # A service without a worker (the web pages) talks to no broker (`uses_broker`).
    uses_broker: ClassVar[bool] = True
    amqp_url: SecretStr | None = Field(default=None, description="amqp://user:pass@host:5672/vhost")
    exchange: str = Field(default="clinic.events", description="the one durable topic exchange")
    # Prefixes every exchange and queue name; tests use it so parallel runs never share a queue.
    topology_prefix: str = ""
    consumer_prefetch: int = Field(default=32, ge=1)
    # Growing delays of the TTL retry queues, in milliseconds; their count is the retry budget.
    retry_delays_ms: tuple[int, ...] = (1_000, 10_000, 60_000)
    # Broker-side guard against crash loops (a message that kills the worker before it can be routed).
    delivery_limit: int = Field(default=5, ge=1)
    publish_timeout_s: float = Field(default=5.0, gt=0)
    outbox_batch_size: int = Field(default=100, ge=1)
    outbox_poll_interval_s: float = Field(default=1.0, gt=0)
    # Published outbox rows and dedupe records are deleted after this long.
    plumbing_retention_hours: int = Field(default=168, ge=1)

    # Public (anonymous) routes: requests per minute and burst per client address, per replica.
    public_rate_per_minute: int = Field(default=120, ge=1)
    public_rate_burst: int = Field(default=30, ge=1)

    # Peers whose X-Forwarded-For / -Proto headers are believed (the gateway, the web service):
    # addresses or networks. Outside development none unless set.
    trusted_proxies: tuple[str, ...] = ()
    http_host: str = "127.0.0.1"
    http_port: int
    worker_http_port: int

    jwt_public_key: SecretStr | None = Field(default=None, description="PEM public key that signs tokens")
    jwks_url: str | None = Field(default=None, description="issuer's JWKS document; used when no PEM is set")
    jwt_issuer: str = DEVELOPMENT_ISSUER
    jwt_audience: str = "clinic-platform"
    # Where the token carries the principal's role and clinic ids (a chain's provider may name them otherwise).
    jwt_role_claim: str = Field(default="role", min_length=1)
    jwt_clinics_claim: str = Field(default="clinics", min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _local_services_in_development(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("environment") == "development":
            service = data.get("service_name") or cls.model_fields["service_name"].default
            data.setdefault("database_url", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{service}")
            data.setdefault("amqp_url", "amqp://guest:guest@127.0.0.1:5672/")
            data.setdefault("trusted_proxies", ("127.0.0.1",))
        return data

    @model_validator(mode="after")
    def _refuse_placeholders_outside_development(self) -> Self:
        if self.environment == "development":
            return self
        if self.uses_broker and self.amqp_url is None:
            raise ValueError(f"set amqp_url for {self.environment}")
        for name in ("database_url", "amqp_url"):
            if getattr(self, name) is None:
                continue
            password = urlsplit(getattr(self, name).get_secret_value()).password or ""
            if password in PLACEHOLDER_SECRETS:
                raise ValueError(f"{name} uses a placeholder password; set a real secret for {self.environment}")
        if self.jwt_public_key is None and not self.jwks_url:
            raise ValueError(f"set jwt_public_key or jwks_url for {self.environment}")
        if self.jwt_issuer == DEVELOPMENT_ISSUER:
            raise ValueError(f"jwt_issuer is the development issuer; name the real issuer for {self.environment}")
        return self

    @property
    def broker_url(self) -> str:
        if self.amqp_url is None:
            raise RuntimeError(f"{self.service_name} has no broker: set its AMQP_URL")
        return self.amqp_url.get_secret_value()

    @property
    def exchange_name(self) -> str:
        return f"{self.topology_prefix}{self.exchange}"


class PatientLinkSettings(ServiceSettings):
    """A service that signs or verifies patients' links (`clinic_shared.manage_links`): booking and
    notifications share the secret, so a link in a message is one booking accepts."""

    # Signs the links patients get to view, reschedule and cancel one appointment (or a waitlist entry).
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
