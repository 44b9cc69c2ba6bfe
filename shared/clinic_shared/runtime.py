"""Composition shared by the services: how an API process and a worker process are put together.

A service describes itself once (`ServiceDefinition`: its name, settings, routers, consumers, jobs,
migrations and demo data); `build_api` and `build_worker` turn that into ASGI apps, and the
`clinic-ops` CLI finds every installed service through the `clinic.services` entry point group.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from clinic_shared.auth import TokenVerifier
from clinic_shared.db import create_engine, create_session_factory
from clinic_shared.errors import DomainError
from clinic_shared.logging import configure_logging, get_logger
from clinic_shared.messaging import Broker, Consumer, ConsumerRunner, Topology
from clinic_shared.outbox import OutboxRelay, prune_plumbing
from clinic_shared.settings import ServiceSettings
from clinic_shared.web import build_app, database_check

log = get_logger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class PeriodicJob:
    """A timed job of the worker (sweeps, timeouts). Runs every `interval_s`; several workers may run
    it at once, so the job itself claims its rows (`FOR UPDATE SKIP LOCKED`)."""

    name: str
    interval_s: float
    run: Callable[[SessionFactory, Any], Awaitable[None]]  # (sessions, the service's settings)


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    title: str
    description: str
    settings_class: type[ServiceSettings]
    root: Path = field(metadata={"doc": "service directory holding alembic.ini and migrations/"})
    routers: Sequence[APIRouter] = ()
    error_status: Mapping[type[DomainError], int] = field(default_factory=dict)
    consumers: Sequence[Consumer] = ()
    jobs: Sequence[PeriodicJob] = ()
    seed: Callable[[SessionFactory], Awaitable[None]] | None = None
    # What an API or worker process holds while it runs (a helper process, HTTP clients), set up
    # before it serves and released after; it is handed the app.
    resources: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None
    # What the API adds to the shared app (middleware, page error handlers, static files).
    extend_api: Callable[[FastAPI, ServiceSettings], None] | None = None
    # A service that handles no events and runs no timed jobs has no worker process (the web pages).
    has_worker: bool = True
    # Whether the service has the outbox: every service that announces events; /metrics reports its lag.
    outbox: bool = True
    # The API's OpenAPI page at /docs (not for the web pages, whose routes are pages, not an API).
    api_docs: bool = True

    def api(self, settings: ServiceSettings) -> FastAPI:
        return build_api(self, settings)

    def worker(self, settings: ServiceSettings) -> FastAPI:
        if not self.has_worker:
            raise RuntimeError(f"{self.name} has no worker process")
        return build_worker(self, settings)

    def settings(self) -> ServiceSettings:
        """Settings from the environment (the class names its own env prefix)."""
        return self.settings_class()

    def run_api(self) -> None:
        """Console script `<service>-api`."""
        settings = self.settings()
        configure_logging(service=settings.service_name, level=settings.log_level)
        serve(self.api(settings), settings=settings, port=settings.http_port)

    def run_worker(self) -> None:
        """Console script `<service>-worker`."""
        settings = self.settings()
        configure_logging(service=settings.service_name, level=settings.log_level)
        serve(self.worker(settings), settings=settings, port=settings.worker_http_port)


def discover_services() -> dict[str, ServiceDefinition]:
    found: dict[str, ServiceDefinition] = {}
    for entry in entry_points(group="clinic.services"):
        definition = entry.load()
        if not isinstance(definition, ServiceDefinition):
            raise TypeError(f"entry point {entry.name} is not a ServiceDefinition")
        found[definition.name] = definition
    return dict(sorted(found.items()))


def topology_of(settings: ServiceSettings) -> Topology:
    return Topology(
        prefix=settings.topology_prefix,
        exchange=settings.exchange,
        retry_delays_ms=settings.retry_delays_ms,
        delivery_limit=settings.delivery_limit,
    )


def _database(settings: ServiceSettings, *, process: str) -> tuple[AsyncEngine, SessionFactory]:
    engine = create_engine(
        settings.database_url.get_secret_value(),
        pool_size=settings.database_pool_size,
        application_name=f"{settings.service_name}-{process}",
    )
    return engine, create_session_factory(engine)


def build_api(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    engine, session_factory = _database(settings, process="api")
    app = build_app(
        lifespan=definition.resources,
        outbox=definition.outbox,
        docs=definition.api_docs,
        service=settings.service_name,
        title=definition.title,
        description=definition.description,
        engine=engine,
        routers=definition.routers,
        error_status=definition.error_status,
        readiness={"database": database_check(engine)},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.verifier = TokenVerifier(
        public_key=settings.jwt_public_key.get_secret_value() if settings.jwt_public_key else None,
        jwks_url=settings.jwks_url,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        role_claim=settings.jwt_role_claim,
        clinics_claim=settings.jwt_clinics_claim,
    )
    if definition.extend_api is not None:
        definition.extend_api(app, settings)
    return app


def build_worker(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    """The worker process: consumers, outbox relay and timed jobs, with its own health endpoints."""
    engine, session_factory = _database(settings, process="worker")
    broker = Broker(
        settings.broker_url,
        service=settings.service_name,
        topology=topology_of(settings),
        publish_timeout_s=settings.publish_timeout_s,
    )
    runners = [
        ConsumerRunner(
            consumer=consumer,
            broker=broker,
            session_factory=session_factory,
            service=settings.service_name,
            prefetch=settings.consumer_prefetch,
        )
        for consumer in definition.consumers
    ]
    relay = OutboxRelay(
        engine=engine,
        broker=broker,
        service=settings.service_name,
        database_url=settings.database_url.get_secret_value(),
        batch_size=settings.outbox_batch_size,
        poll_interval_s=settings.outbox_poll_interval_s,
    )

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        await broker.connect()
        for runner in runners:
            await runner.start()
        tasks = [asyncio.create_task(relay.run(), name="outbox-relay")]
        tasks += [
            asyncio.create_task(
                _every(job.name, job.interval_s, partial(job.run, session_factory, settings)), name=job.name
            )
            for job in definition.jobs
        ]
        prune = partial(prune_plumbing, engine, retention_hours=settings.plumbing_retention_hours)
        tasks.append(asyncio.create_task(_every("plumbing-retention", 3600, prune), name="plumbing-retention"))
        log.info("worker_started", consumers=[r.consumer.name for r in runners], jobs=[j.name for j in definition.jobs])
        try:
            yield
        finally:
            for runner in runners:
                await runner.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await broker.close()
            log.info("worker_stopped")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as held:
            if definition.resources is not None:
                await held.enter_async_context(definition.resources(app))
            await held.enter_async_context(running())
            yield

    async def broker_ready() -> bool:
        return broker.is_connected

    async def consumers_ready() -> bool:
        return all(runner.is_ready for runner in runners)

    async def relay_ready() -> bool:
        return relay.running

    app = build_app(
        service=settings.service_name,
        title=f"{definition.title} worker",
        description="Consumers, outbox relay and timed jobs.",
        engine=engine,
        routers=(),
        error_status={},
        readiness={
            "database": database_check(engine),
            "broker": broker_ready,
            "consumers": consumers_ready,
            "outbox_relay": relay_ready,
        },
        lifespan=lifespan,
        docs=False,
    )
    app.state.runners = runners
    app.state.relay = relay
    return app


async def _every(name: str, interval_s: float, run: Callable[[], Awaitable[object]]) -> None:
    while True:
        try:
            await run()
        except Exception:
            log.exception("job_failed", job=name)
        await asyncio.sleep(interval_s)


def serve(app: FastAPI, *, settings: ServiceSettings, port: int) -> None:
    # What is built by now (modules, the app, its routes, models and templates) lives as long as the
    # process. Frozen, the collector's full passes no longer walk it: they took about 100 ms each,
    # every few seconds under load (bench/web, 2026-12-07), and were the pages' p99.
    gc.collect()
    gc.freeze()
    # X-Forwarded-For and -Proto are believed only from the gateway and the web service (the peers
    # in TRUSTED_PROXIES), so rate limits and logs see the visitor's address, and nobody can forge it.
    uvicorn.run(
        app, host=settings.http_host, port=port, log_config=None, access_log=False, lifespan="on",
        proxy_headers=True, forwarded_allow_ips=list(settings.trusted_proxies),
    )  # fmt: skip
