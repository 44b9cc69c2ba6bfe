"""`clinic-ops`: the operator's one entry point. Services are found through the `clinic.services`
entry points; each reads its own settings (BOOKING_*, INVENTORY_*, NOTIFICATIONS_*)."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import aio_pika
import asyncpg
import click
from sqlalchemy.engine import make_url

from clinic_shared import auth
from clinic_shared.db import asyncpg_dsn, create_engine, create_session_factory
from clinic_shared.events import contracts
from clinic_shared.gateway import Gateway, command
from clinic_shared.messaging import operations
from clinic_shared.migrations import upgrade
from clinic_shared.outbox import measure_lag
from clinic_shared.runtime import ServiceDefinition, discover_services, topology_of
from clinic_shared.settings import DEVELOPMENT_ISSUER, ServiceSettings

T = TypeVar("T")


def _run(coroutine: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await coroutine

    return asyncio.run(wrapper())


def _selected(names: tuple[str, ...]) -> list[ServiceDefinition]:
    services = discover_services()
    unknown = set(names) - set(services)
    if unknown:
        raise click.BadParameter(f"unknown service(s) {', '.join(sorted(unknown))}; known: {', '.join(services)}")
    return [services[name] for name in (names or tuple(services))]


@click.group()
def main() -> None:
    """Operate the clinic platform: migrations, demo data, error queues, outbox, tokens, contracts."""


# --- database -------------------------------------------------------------------------------------


@main.command()
@click.argument("services", nargs=-1)
@click.option("--create-database", is_flag=True, help="create each service's database first if it is missing")
def migrate(services: tuple[str, ...], create_database: bool) -> None:
    """Migrate the databases of SERVICES (default: all) to the newest revision."""
    for definition in _selected(services):
        url = definition.settings().database_url.get_secret_value()
        if create_database:
            created = _run(_create_database(url))
            click.echo(f"{definition.name}: database {'created' if created else 'exists'}")
        upgrade(definition.root, url)
        click.echo(f"{definition.name}: migrated")


async def _create_database(url: str) -> bool:
    name = make_url(url).database
    if not name:
        raise click.BadParameter(f"database URL names no database: {make_url(url)!r}")
    maintenance = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(asyncpg_dsn(maintenance))
    try:
        if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await connection.execute(f'CREATE DATABASE "{name}"')
        return True
    finally:
        await connection.close()


@main.command()
@click.argument("services", nargs=-1)
def topology(services: tuple[str, ...]) -> None:
    """Declare the exchange and every consumer's queues of SERVICES (default: all).

    Run it at deploy time, before any worker starts: an event published while a consumer's queue
    does not exist yet reaches only the consumers already bound, and the others never see it.
    """
    for definition in _selected(services):
        if not definition.settings_class.uses_broker:
            continue
        settings = definition.settings()
        declared = _with_broker(definition, partial(_declare, definition, settings))
        click.echo(f"{definition.name}: exchange and {declared} consumer queue set(s) declared")


async def _declare(
    definition: ServiceDefinition, settings: ServiceSettings, connection: aio_pika.abc.AbstractRobustConnection
) -> int:
    shape = topology_of(settings)
    channel = await connection.channel()
    try:
        await shape.declare_exchange(channel, service=settings.service_name)
        for consumer in definition.consumers:
            await shape.declare_consumer(
                channel, service=settings.service_name, consumer=consumer.name, routing_keys=consumer.routing_keys
            )
    finally:
        await channel.close()
    return len(definition.consumers)


@main.command()
@click.argument("services", nargs=-1)
def seed(services: tuple[str, ...]) -> None:
    """Load demo data into SERVICES (default: all that have any). Running it twice adds nothing."""
    for definition in _selected(services):
        if definition.seed is None:
            continue
        _run(_seed(definition))
        click.echo(f"{definition.name}: demo data present")


async def _seed(definition: ServiceDefinition) -> None:
    assert definition.seed is not None
    engine = create_engine(definition.settings().database_url.get_secret_value(), pool_size=2)
    try:
        await definition.seed(create_session_factory(engine))
    finally:
        await engine.dispose()


# --- outbox ---------------------------------------------------------------------------------------


@main.group()
def outbox() -> None:
    """The transactional outbox of each service."""


@outbox.command("lag")
@click.argument("services", nargs=-1)
def outbox_lag(services: tuple[str, ...]) -> None:
    """Unpublished events and the age of the oldest, per service."""
    for definition in _selected(services):
        if not definition.outbox:
            continue
        lag = _run(_lag(definition))
        click.echo(f"{definition.name:<14} pending={lag.pending:<6} oldest={lag.oldest_age_s:.1f}s")


async def _lag(definition: ServiceDefinition) -> Any:
    engine = create_engine(definition.settings().database_url.get_secret_value(), pool_size=1)
    try:
        async with engine.connect() as connection:
            return await measure_lag(connection)
    finally:
        await engine.dispose()


# --- error queues ---------------------------------------------------------------------------------


@main.group()
def errors() -> None:
    """Error queues: messages a consumer could not handle."""


def _owner(queue: str) -> ServiceDefinition:
    """The service whose consumer owns `queue`: its broker user is the one allowed to touch it."""
    for definition in discover_services().values():
        settings = definition.settings()
        topology = topology_of(settings)
        for consumer in definition.consumers:
            names = topology.queue_names(service=settings.service_name, consumer=consumer.name)
            if queue in (names.main, names.error, *names.retries):
                return definition
    raise click.BadParameter(f"no service owns {queue}; `clinic-ops errors list` shows the error queues")


def _with_broker(
    definition: ServiceDefinition, action: Callable[[aio_pika.abc.AbstractRobustConnection], Awaitable[T]]
) -> T:
    url = definition.settings().broker_url

    async def run() -> T:
        connection = await aio_pika.connect_robust(url, client_properties={"connection_name": "clinic-ops"})
        try:
            return await action(connection)
        finally:
            await connection.close()

    return asyncio.run(run())


@errors.command("list")
def errors_list() -> None:
    """Every consumer's error queue with its message count."""
    for definition in discover_services().values():
        settings = definition.settings()
        topology = topology_of(settings)
        queues = [
            topology.queue_names(service=settings.service_name, consumer=consumer.name).error
            for consumer in definition.consumers
        ]

        async def depths(
            connection: aio_pika.abc.AbstractRobustConnection, queues: list[str] = queues
        ) -> list[int | None]:
            return [await operations.count(connection, queue) for queue in queues]

        for queue, depth in zip(queues, _with_broker(definition, depths) if queues else [], strict=True):
            click.echo(f"{queue:<60} {'not declared yet' if depth is None else depth}")


@errors.command("show")
@click.argument("queue")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def errors_show(queue: str, limit: int) -> None:
    """What failed in QUEUE and why (headers only; bodies may hold contact details)."""
    for letter in _with_broker(_owner(queue), lambda c: operations.peek(c, queue, limit=limit)):
        click.echo(json.dumps(letter.__dict__))


@errors.command("replay")
@click.argument("queue")
@click.option("--message-id", "message_ids", multiple=True, help="replay only these (repeatable)")
@click.option("--all", "everything", is_flag=True, help="replay every message in QUEUE")
def errors_replay(queue: str, message_ids: tuple[str, ...], everything: bool) -> None:
    """Send messages from QUEUE back to their consumer with a fresh retry budget."""
    if not message_ids and not everything:
        raise click.UsageError("name --message-id(s) or say --all")
    ids = None if everything else set(message_ids)
    click.echo(f"replayed {_with_broker(_owner(queue), lambda c: operations.replay(c, queue, message_ids=ids))}")


@errors.command("purge")
@click.argument("queue")
@click.option("--message-id", "message_ids", multiple=True, help="purge only these (repeatable)")
@click.option("--all", "everything", is_flag=True, help="purge every message in QUEUE")
@click.confirmation_option(prompt="Purged messages are gone for good. Continue?")
def errors_purge(queue: str, message_ids: tuple[str, ...], everything: bool) -> None:
    """Delete messages from QUEUE."""
    if not message_ids and not everything:
        raise click.UsageError("name --message-id(s) or say --all")
    ids = None if everything else set(message_ids)
    click.echo(f"purged {_with_broker(_owner(queue), lambda c: operations.purge(c, queue, message_ids=ids))}")


# --- development tokens and keys ------------------------------------------------------------------


@main.group()
def token() -> None:
    """Development tokens from the built-in issuer."""


@token.command("mint")
@click.option("--role", type=click.Choice([r.value for r in auth.Role]), required=True)
@click.option("--clinic", "clinics", multiple=True, type=click.UUID, help="clinic in scope (repeatable)")
@click.option("--appointment", "appointments", multiple=True, type=click.UUID, help="for patient links")
@click.option("--subject", default="dev-user", show_default=True)
@click.option("--hours", default=12, show_default=True, type=click.IntRange(1, 24 * 30))
@click.option("--private-key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option(
    "--issuer",
    default=DEVELOPMENT_ISSUER,
    show_default=True,
    help="the `iss` the APIs trust (their JWT_ISSUER), e.g. the development OpenID provider's URL",
)
@click.option("--audience", default="clinic-platform", show_default=True)
def token_mint(
    role: str,
    clinics: tuple[UUID, ...],
    appointments: tuple[UUID, ...],
    subject: str,
    hours: int,
    private_key_file: Path,
    issuer: str,
    audience: str,
) -> None:
    """Print a signed bearer token (kid "dev", which the development OpenID provider also publishes)."""
    click.echo(
        auth.mint_token(
            private_key_file.read_text(),
            subject=subject,
            role=auth.Role(role),
            clinic_ids=list(clinics),
            appointment_ids=list(appointments),
            issuer=issuer,
            audience=audience,
            ttl=timedelta(hours=hours),
        )
    )


@main.command("gateway")
@click.argument("prefix", type=click.Path(file_okay=False, path_type=Path))
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="address:port visitors use")
@click.option("--web", default="127.0.0.1:8000", show_default=True)
@click.option("--booking", default="127.0.0.1:8001", show_default=True)
@click.option("--inventory", default="127.0.0.1:8002", show_default=True)
@click.option("--notifications", default="127.0.0.1:8003", show_default=True)
@click.option("--static", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True)
@click.option("--oidc-issuer", default="http://127.0.0.1:8090", show_default=True)
@click.option("--hsts/--no-hsts", default=False, help="send Strict-Transport-Security (outside development)")
def gateway_config(
    prefix: Path, listen: str, web: str, booking: str, inventory: str, notifications: str, static: Path,
    oidc_issuer: str, hsts: bool,
) -> None:  # fmt: skip
    """Write the gateway's nginx configuration under PREFIX and print the command that runs it."""
    config = Gateway(
        listen=listen, web=web, booking=booking, inventory=inventory, notifications=notifications,
        static=static.resolve(), oidc_issuer=oidc_issuer, hsts=hsts,
    ).render(prefix.resolve())  # fmt: skip
    click.echo(shlex.join(command(config)))


@main.command("keys")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def keys(directory: Path) -> None:
    """Create the development issuer's key pair in DIRECTORY (kept if it exists), and its JWKS."""
    directory.mkdir(parents=True, exist_ok=True)
    private, public = directory / "jwt-private.pem", directory / "jwt-public.pem"
    if not private.exists():
        private_pem, public_pem = auth.generate_keypair()
        private.write_text(private_pem)
        private.chmod(0o600)
        public.write_text(public_pem)
    (directory / "jwks.json").write_text(json.dumps(auth.jwks_document(public.read_text()), indent=2))
    click.echo(str(directory))


# --- contracts ------------------------------------------------------------------------------------


@main.group()
def contracts_group() -> None:
    """The committed JSON Schemas of the event catalogue."""


main.add_command(contracts_group, name="contracts")


@contracts_group.command("check")
def contracts_check() -> None:
    """Compare the models with the committed schemas; exit 1 on an incompatible change."""
    committed = contracts.committed_schemas()
    problems = []
    for routing_key, schema in contracts.current_schemas().items():
        if routing_key not in committed:
            problems.append(f"{routing_key}: no committed schema (run `clinic-ops contracts write`)")
            continue
        problems += [f"{routing_key} {p}" for p in contracts.incompatibilities(committed[routing_key], schema)]
    for problem in problems:
        click.echo(problem, err=True)
    sys.exit(1 if problems else 0)


@contracts_group.command("write")
def contracts_write() -> None:
    """Regenerate the committed schemas from the models (review the diff before committing)."""
    for path in contracts.write_schemas():
        click.echo(f"wrote {path}")
