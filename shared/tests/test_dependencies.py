"""The order in which tests look for PostgreSQL and RabbitMQ."""

from __future__ import annotations

from dataclasses import replace

import pytest

from clinic_shared.testing.dependencies import POSTGRES, DependencyMissing, resolve

pytestmark = pytest.mark.unit


class FakeContainer:
    started = False

    def start(self) -> None:
        self.started = True


def _dependency():  # type: ignore[no-untyped-def]
    return replace(POSTGRES, container=FakeContainer, url_of_container=lambda c: "postgresql://container/db")


def test_an_environment_url_wins_over_everything() -> None:
    url, source, container = resolve(
        _dependency(),
        environ={"TEST_DATABASE_URL": "postgresql://elsewhere/db"},
        local=lambda _: True,
        docker=lambda: True,
    )
    assert (url, source, container) == ("postgresql://elsewhere/db", "$TEST_DATABASE_URL", None)


def test_the_local_service_comes_before_testcontainers() -> None:
    url, source, _ = resolve(_dependency(), environ={}, local=lambda port: port == 5432, docker=lambda: True)
    assert url == POSTGRES.local_url
    assert source == "127.0.0.1:5432"


def test_testcontainers_are_used_when_nothing_local_answers_and_docker_does() -> None:
    url, source, container = resolve(_dependency(), environ={}, local=lambda _: False, docker=lambda: True)
    assert (url, source) == ("postgresql://container/db", "testcontainers")
    assert container.started


def test_without_any_the_failure_says_what_to_start() -> None:
    with pytest.raises(DependencyMissing) as missing:
        resolve(_dependency(), environ={}, local=lambda _: False, docker=lambda: False)
    message = str(missing.value)
    assert "TEST_DATABASE_URL" in message
    assert "pg_ctlcluster" in message
    assert "Docker engine" in message
