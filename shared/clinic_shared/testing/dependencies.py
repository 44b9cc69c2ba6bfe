"""Where the tests find PostgreSQL and RabbitMQ, in this order (docs/adr/0004-test-dependencies.md):

1. an environment URL (`TEST_DATABASE_URL`, `TEST_AMQP_URL`);
2. the local service on 127.0.0.1 (the default ports);
3. a testcontainers container, when a Docker engine answers;
4. otherwise a failure that says what to start.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Dependency:
    name: str
    env_var: str
    local_url: str
    local_port: int
    how_to_start: str
    container: Callable[[], Any]
    url_of_container: Callable[[Any], str]


class DependencyMissing(RuntimeError):
    pass


def port_open(port: int, host: str = "127.0.0.1", timeout_s: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout_s):
        return True
    return False


def docker_answers() -> bool:
    try:
        import docker  # noqa: PLC0415 (only needed when nothing local runs)
    except ImportError:
        return False
    try:
        docker.from_env().ping()
    except Exception:  # DockerException, connection refused, missing socket: all mean "no engine"
        return False
    return True


def resolve(
    dependency: Dependency,
    *,
    environ: dict[str, str] | os._Environ[str] = os.environ,
    local: Callable[[int], bool] = port_open,
    docker: Callable[[], bool] = docker_answers,
) -> tuple[str, str, Any]:
    """(url, source, container-or-None). The caller stops a returned container when done."""
    if url := environ.get(dependency.env_var):
        return url, f"${dependency.env_var}", None
    if local(dependency.local_port):
        return dependency.local_url, f"127.0.0.1:{dependency.local_port}", None
    if docker():
        container = dependency.container()
        container.start()
        return dependency.url_of_container(container), "testcontainers", container
    raise DependencyMissing(
        f"no {dependency.name} for the tests: set {dependency.env_var}, start {dependency.name} on "
        f"127.0.0.1:{dependency.local_port} ({dependency.how_to_start}), or run a Docker engine for testcontainers"
    )


def _postgres_container() -> Any:
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415 (Docker-only path)

    return PostgresContainer("postgres:15", driver="asyncpg")


def _rabbitmq_container() -> Any:
    from testcontainers.community.rabbitmq import RabbitMqContainer  # noqa: PLC0415 (Docker-only path)

    return RabbitMqContainer("rabbitmq:3.10-management")


def _rabbitmq_url(container: Any) -> str:
    host, port = container.get_container_host_ip(), container.get_exposed_port(5672)
    return f"amqp://guest:guest@{host}:{port}/"


POSTGRES = Dependency(
    name="PostgreSQL",
    env_var="TEST_DATABASE_URL",
    local_url="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
    local_port=5432,
    how_to_start="pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    container=_postgres_container,
    url_of_container=lambda c: c.get_connection_url(),
)

RABBITMQ = Dependency(
    name="RabbitMQ",
    env_var="TEST_AMQP_URL",
    local_url="amqp://guest:guest@127.0.0.1:5672/",
    local_port=5672,
    how_to_start="rabbitmq-server -detached",
    container=_rabbitmq_container,
    url_of_container=_rabbitmq_url,
)


@contextlib.contextmanager
def provided(dependency: Dependency) -> Iterator[tuple[str, str]]:
    url, source, container = resolve(dependency)
    try:
        yield url, source
    finally:
        if container is not None:
            container.stop()
