"""Pytest fixtures for every service's tests: real PostgreSQL and RabbitMQ, a fresh Alembic-migrated
database per service per run, and a topology prefix unique to the run, so two runs never collide.

Load it from a conftest: `pytest_plugins = ["clinic_shared.testing.plugin"]`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

import aio_pika
import asyncpg
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from clinic_shared import auth
from clinic_shared.db import asyncpg_dsn
from clinic_shared.logging import configure_logging
from clinic_shared.migrations import upgrade
from clinic_shared.runtime import ServiceDefinition, discover_services, topology_of
from clinic_shared.settings import ServiceSettings
from clinic_shared.testing.dependencies import POSTGRES, RABBITMQ, DependencyMissing, provided
from clinic_shared.testing.unhandled import expect_unhandled_errors, pytest_runtest_protocol, pytest_sessionfinish

__all__ = ["expect_unhandled_errors", "pytest_runtest_protocol", "pytest_sessionfinish"]

S = TypeVar("S", bound=ServiceSettings)


@dataclass
class TestEnvironment:
    """The run's infrastructure and how to reach it; `settings()` builds a service's test settings."""

    __test__ = False  # not a test class, whatever its name

    postgres_url: str
    amqp_url: str
    run_id: str
    private_key: str
    public_key: str
    extra_queues: set[str] = field(default_factory=set)
    # The `iss` the services trust and the test tokens carry; a run with the real OpenID provider
    # (whose issuer is its URL) uses `dataclasses.replace(test_env, issuer=...)`.
    issuer: str = "clinic-dev-issuer"

    @property
    def topology_prefix(self) -> str:
        return f"t{self.run_id}."

    def database_name(self, service: str) -> str:
        return f"t_{self.run_id}_{service}"

    def database_url(self, service: str) -> str:
        url = make_url(self.postgres_url).set(drivername="postgresql+asyncpg", database=self.database_name(service))
        return url.render_as_string(hide_password=False)

    def settings(self, definition: ServiceDefinition, **overrides: Any) -> ServiceSettings:
        values: dict[str, Any] = {
            "environment": "development",
            "database_url": self.database_url(definition.name),
            "database_pool_size": 5,
            "amqp_url": self.amqp_url,
            "topology_prefix": self.topology_prefix,
            "retry_delays_ms": (200, 400, 800),
            "jwt_public_key": self.public_key,
            "jwt_issuer": self.issuer,
            "log_level": "WARNING",
            # Tests send many requests from one address; the limit itself has its own test.
            "public_rate_per_minute": 1_000_000,
            "public_rate_burst": 100_000,
        }
        values.update(overrides)
        return definition.settings_class(**values)

    def environ(self, definition: ServiceDefinition, **overrides: Any) -> dict[str, str]:
        """The same settings as environment variables, for a service started as a real process."""
        settings = self.settings(definition, **overrides)
        prefix = settings.model_config.get("env_prefix", "")
        values = settings.model_dump(mode="json", exclude_none=True)
        secrets = {name: getattr(settings, name) for name in values if isinstance(getattr(settings, name), SecretStr)}
        values |= {name: secret.get_secret_value() for name, secret in secrets.items()}
        return {
            f"{prefix}{name}".upper(): value if isinstance(value, str) else json.dumps(value)
            for name, value in values.items()
        }

    def token(
        self,
        role: auth.Role,
        *,
        clinics: list[UUID] | None = None,
        appointments: list[UUID] | None = None,
        subject: str = "test-user",
        ttl: timedelta = timedelta(minutes=30),
    ) -> str:
        return auth.mint_token(
            self.private_key,
            subject=subject,
            role=role,
            clinic_ids=clinics,
            appointment_ids=appointments,
            issuer=self.issuer,
            audience="clinic-platform",
            ttl=ttl,
        )

    def auth_header(self, role: auth.Role, *, clinics: list[UUID] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, clinics=clinics)}"}

    async def discard_unpublished_events(self) -> None:
        """Delete the events earlier tests wrote to the services' outboxes with no relay running. A
        module that starts workers expects its own events to arrive within seconds; thousands of
        others queued ahead of them (a race test writes as many) would hold them up."""
        for service, definition in discover_services().items():
            if not definition.outbox:
                continue
            connection = await asyncpg.connect(asyncpg_dsn(self.database_url(service)))
            try:
                await connection.execute("DELETE FROM outbox WHERE published_at IS NULL")
            finally:
                await connection.close()

    async def create_database(self, name: str) -> None:
        await self._administer(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')

    async def drop_database(self, name: str) -> None:
        await self._administer(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _administer(self, *statements: str) -> None:
        connection = await asyncpg.connect(asyncpg_dsn(self.postgres_url))
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()


def pytest_configure(config: pytest.Config) -> None:
    # The services' logs as in production (JSON lines, plain tracebacks). Left unconfigured, structlog
    # draws every traceback with its local variables through rich: seconds per exception.
    configure_logging(service="tests", level="WARNING")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        with provided(POSTGRES) as (url, _):
            yield url
    except DependencyMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    try:
        with provided(RABBITMQ) as (url, _):
            yield url
    except DependencyMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.fixture(scope="session")
async def test_env(postgres_url: str, amqp_url: str) -> AsyncIterator[TestEnvironment]:
    private_key, public_key = auth.generate_keypair()
    env = TestEnvironment(
        postgres_url=postgres_url,
        amqp_url=amqp_url,
        run_id=uuid.uuid4().hex[:10],
        private_key=private_key,
        public_key=public_key,
    )
    yield env
    await _delete_topology(env)


@pytest.fixture(scope="session")
async def service_databases(test_env: TestEnvironment) -> AsyncIterator[dict[str, str]]:
    """Every installed service's database, created fresh and migrated by Alembic for this run."""
    services = discover_services()
    urls = {}
    for name, definition in services.items():
        await test_env.create_database(test_env.database_name(name))
        urls[name] = test_env.database_url(name)
        await asyncio.to_thread(upgrade, definition.root, urls[name])
    yield urls
    for name in services:
        await test_env.drop_database(test_env.database_name(name))


async def _delete_topology(env: TestEnvironment) -> None:
    """Remove the run's queues and exchanges; a broker left full of test queues slows every later run."""
    queues = set(env.extra_queues)
    exchanges = set()
    for definition in discover_services().values():
        settings = env.settings(definition)
        topology = topology_of(settings)
        exchanges.update({topology.events_exchange, topology.dead_letter_exchange})
        queues |= topology.declared_queues(
            service=settings.service_name, consumers=[consumer.name for consumer in definition.consumers]
        )
    connection = await aio_pika.connect(env.amqp_url)
    try:
        for queue in queues:
            channel = await connection.channel()
            await channel.queue_delete(queue)
            await channel.close()
        channel = await connection.channel()
        for exchange in exchanges:
            await channel.exchange_delete(exchange)
        await channel.close()
    finally:
        await connection.close()
