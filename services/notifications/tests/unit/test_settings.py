"""Mail settings: a local sink by default in development only; anywhere else they must be named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from notifications.settings import NotificationsSettings

pytestmark = pytest.mark.unit

REAL = {
    "database_url": "postgresql+asyncpg://notifications:s3cret-Value-9@db:5432/notifications",
    "amqp_url": "amqp://notifications:s3cret-Value-9@mq:5672/clinic",
    "jwks_url": "https://id.clinic.example/.well-known/jwks.json",
    "jwt_issuer": "https://id.clinic.example/",
    "manage_link_secret": "k" * 48,
}


def test_development_sends_to_a_local_sink() -> None:
    settings = NotificationsSettings(environment="development")
    assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", 1025)


def test_outside_development_the_mail_server_and_the_link_base_must_be_named() -> None:
    with pytest.raises(ValidationError) as refused:
        NotificationsSettings(environment="staging", **REAL)
    assert {error["loc"][0] for error in refused.value.errors()} == {
        "smtp_host",
        "smtp_port",
        "public_base_url",
        "sms_primary_url",
        "sms_primary_key",
        "operations_email",
    }
    named = NotificationsSettings(
        environment="production", smtp_host="smtp.clinic.example", smtp_port=587,
        public_base_url="https://book.clinic.example", sms_primary_url="https://sms.example/api",
        sms_primary_key="a-real-provider-key", operations_email="ops@clinic.example", **REAL,
    )  # fmt: skip
    assert named.smtp_host == "smtp.clinic.example"
