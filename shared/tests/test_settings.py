from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import ValidationError

from clinic_shared.settings import ServiceSettings

pytestmark = pytest.mark.unit

REAL = {
    "service_name": "booking",
    "http_port": 8001,
    "worker_http_port": 8101,
    "database_url": "postgresql+asyncpg://booking:s3cr3t-from-vault@db/booking",
    "amqp_url": "amqp://booking:an0ther-s3cret@mq:5672/",
    "jwt_public_key": "-----BEGIN PUBLIC KEY-----...",
    "jwt_issuer": "https://id.clinics.example",
}


def test_production_settings_with_real_secrets_are_accepted() -> None:
    settings = ServiceSettings(environment="production", **REAL)
    assert settings.exchange_name == "clinic.events"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amqp_url", "amqp://guest:guest@mq:5672/"),
        ("database_url", "postgresql+asyncpg://postgres:postgres@db/booking"),
        ("database_url", "postgresql+asyncpg://booking@db/booking"),
        ("database_url", "postgresql+asyncpg://booking:changeme@db/booking"),
    ],
)
def test_placeholder_secrets_are_refused_outside_development(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match=f"{field} uses a placeholder password"):
        ServiceSettings(environment="production", **{**REAL, field: value})


def test_a_verification_key_is_required_outside_development() -> None:
    with pytest.raises(ValidationError, match="jwt_public_key or jwks_url"):
        ServiceSettings(environment="staging", **{**REAL, "jwt_public_key": None})


def test_the_development_issuer_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="development issuer"):
        ServiceSettings(environment="production", **{**REAL, "jwt_issuer": "clinic-dev-issuer"})


def test_the_environment_must_be_named() -> None:
    with pytest.raises(ValidationError, match="environment"):
        ServiceSettings(**REAL)


def test_development_accepts_the_local_defaults() -> None:
    settings = ServiceSettings(
        environment="development",
        **{**REAL, "amqp_url": "amqp://guest:guest@127.0.0.1:5672/", "jwt_public_key": None},
    )
    assert settings.jwt_public_key is None


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    assert "s3cr3t-from-vault" not in repr(ServiceSettings(environment="production", **REAL))


def test_outside_development_there_is_no_default_database_or_broker() -> None:
    without_database = {k: v for k, v in REAL.items() if k != "database_url"}
    without_broker = {k: v for k, v in REAL.items() if k != "amqp_url"}
    with pytest.raises(ValidationError) as error:
        ServiceSettings(environment="production", **without_database)
    assert {e["loc"][0] for e in error.value.errors()} == {"database_url"}
    with pytest.raises(ValidationError, match="set amqp_url for production"):
        ServiceSettings(environment="production", **without_broker)


def test_a_service_without_a_worker_needs_no_broker() -> None:
    class Pages(ServiceSettings):
        uses_broker: ClassVar[bool] = False

    without_broker = {k: v for k, v in REAL.items() if k != "amqp_url"}
    assert Pages(environment="production", **without_broker).amqp_url is None


def test_development_fills_in_the_local_services_for_the_named_service() -> None:
    without_urls = {k: v for k, v in REAL.items() if k not in {"database_url", "amqp_url"}}
    settings = ServiceSettings(environment="development", **without_urls)
    assert settings.database_url.get_secret_value() == "postgresql+asyncpg://postgres@127.0.0.1:5432/booking"
    assert settings.broker_url == "amqp://guest:guest@127.0.0.1:5672/"
