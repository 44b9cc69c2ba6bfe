"""`clinic-ops` as an operator runs it: a real process against the run's databases and broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aio_pika
import pytest

from clinic_shared.auth import Role, TokenVerifier
from clinic_shared.runtime import discover_services, topology_of
from clinic_shared.testing.plugin import TestEnvironment

pytestmark = pytest.mark.integration

CLINIC_OPS = Path(sys.executable).parent / "clinic-ops"


@pytest.fixture
def operator_env(test_env: TestEnvironment, service_databases: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for definition in discover_services().values():
        env |= test_env.environ(definition, topology_prefix=f"{test_env.topology_prefix}cli.")
    return env


def clinic_ops(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([CLINIC_OPS, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_topology_declares_every_consumers_queues_before_any_worker_runs(
    operator_env: dict[str, str], test_env: TestEnvironment
) -> None:
    assert "not declared yet" in clinic_ops(operator_env, "errors", "list")

    output = clinic_ops(operator_env, "topology")

    assert "inventory: exchange and 2 consumer queue set(s) declared" in output
    connection = await aio_pika.connect(test_env.amqp_url)
    try:
        for definition in discover_services().values():
            settings = test_env.settings(definition, topology_prefix=f"{test_env.topology_prefix}cli.")
            for consumer in definition.consumers:
                names = topology_of(settings).queue_names(service=definition.name, consumer=consumer.name)
                test_env.extra_queues.update({names.main, names.error, *names.retries})
                channel = await connection.channel()
                await channel.declare_queue(names.main, passive=True)  # raises if it does not exist
                await channel.close()
        channel = await connection.channel()
        await channel.exchange_delete(f"{test_env.topology_prefix}cli.clinic.events")
        await channel.exchange_delete(f"{test_env.topology_prefix}cli.clinic.events.dead-letter")
    finally:
        await connection.close()
    listed = clinic_ops(operator_env, "errors", "list")
    assert f"{test_env.topology_prefix}cli.inventory.clinic-projection.error" in listed
    assert "not declared yet" not in listed


def test_outbox_lag_is_reported_per_service(operator_env: dict[str, str]) -> None:
    output = clinic_ops(operator_env, "outbox", "lag")
    with_outbox = {name for name, definition in discover_services().items() if definition.outbox}
    assert {line.split()[0] for line in output.splitlines()} == with_outbox
    assert "pending=" in output


async def test_a_minted_development_token_is_accepted_by_the_services(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    clinic_ops(operator_env, "keys", str(tmp_path))
    token = clinic_ops(
        operator_env,
        "token", "mint", "--role", "clinic_manager", "--clinic", "6f1c1c52-8a66-4c55-a7c3-1f5d2b0e8a10",
        "--private-key-file", str(tmp_path / "jwt-private.pem"),
    ).strip()  # fmt: skip
    verifier = TokenVerifier(
        public_key=(tmp_path / "jwt-public.pem").read_text(),
        jwks_url=None,
        issuer="clinic-dev-issuer",
        audience="clinic-platform",
    )
    principal = await verifier.verify(token)
    assert principal.role is Role.CLINIC_MANAGER
    assert [str(c) for c in principal.clinic_ids] == ["6f1c1c52-8a66-4c55-a7c3-1f5d2b0e8a10"]
    assert (tmp_path / "jwks.json").exists()


def test_replay_and_purge_refuse_to_guess_which_messages(operator_env: dict[str, str]) -> None:
    result = subprocess.run(
        [CLINIC_OPS, "errors", "replay", "inventory.clinic-projection.error"],
        env=operator_env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--message-id" in result.stderr
