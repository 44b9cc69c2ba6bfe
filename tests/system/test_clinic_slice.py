"""The clinic slice end to end with every process running as it does in production: three APIs and
three workers, started from their console scripts, against fresh databases and a run-private topology."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from clinic_shared.auth import Role
from clinic_shared.runtime import discover_services
from clinic_shared.testing.journeys import book, bookable_clinic_with_supplies, receive, status_becomes, stock
from clinic_shared.testing.messaging import eventually
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.processes import ServiceProcess, free_port, start, stop, wait_until_ready

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def processes(
    test_env: TestEnvironment, service_databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ServiceProcess]]:
    logs = tmp_path_factory.mktemp("system-logs")
    started: dict[str, ServiceProcess] = {}
    try:
        for name, definition in discover_services().items():
            api_port, worker_port = free_port(), free_port()
            env = {
                **os.environ,
                **test_env.environ(definition, http_port=api_port, worker_http_port=worker_port, log_level="INFO"),
            }
            started[f"{name}-api"] = start(f"{name}-api", port=api_port, env=env, logs=logs)
            started[f"{name}-worker"] = start(f"{name}-worker", port=worker_port, env=env, logs=logs)
        yield started
    finally:
        stop(started.values())


@pytest.fixture(scope="module")
async def ready(processes: dict[str, ServiceProcess]) -> dict[str, ServiceProcess]:
    await wait_until_ready(processes.values())
    return processes


async def test_a_clinic_created_on_booking_is_visible_in_inventory_and_notifications_within_a_second(
    ready: dict[str, ServiceProcess], test_env: TestEnvironment
) -> None:
    admin = test_env.auth_header(Role.ADMIN)
    body: dict[str, Any] = {
        "name": f"System Clinic {uuid.uuid4().hex[:6]}",
        "address": {"line1": "Herengracht 120", "city": "Amsterdam", "postal_code": "1015 BS", "country": "NL"},
        "timezone": "Europe/Amsterdam",
        "phone": "+31 20 555 0120",
        "opening_hours": {"monday": [{"opens": "09:00", "closes": "18:00"}]},
    }
    async with httpx.AsyncClient(timeout=5) as client:
        created = await client.post(f"{ready['booking-api'].url}/clinics", json=body, headers=admin)
        assert created.status_code == 201, created.text
        clinic_id = created.json()["id"]
        committed_at = time.monotonic()

        async def visible(service: str) -> float:
            while True:
                response = await client.get(f"{ready[f'{service}-api'].url}/clinics/{clinic_id}", headers=admin)
                if response.status_code == 200:
                    assert response.json()["name"] == body["name"]
                    return time.monotonic() - committed_at
                await asyncio.sleep(0.01)

        delays = await asyncio.wait_for(asyncio.gather(visible("inventory"), visible("notifications")), timeout=10)

    assert max(delays) < 1.0, f"visible after {delays[0]:.3f}s (inventory) and {delays[1]:.3f}s (notifications)"


async def test_a_booking_is_confirmed_by_the_inventory_worker_and_released_on_cancel(
    ready: dict[str, ServiceProcess], test_env: TestEnvironment
) -> None:
    """The saga with every process running: booking's API and relay, inventory's consumer and relay,
    booking's consumer."""
    async with (
        httpx.AsyncClient(base_url=ready["booking-api"].url, timeout=5) as booking,
        httpx.AsyncClient(base_url=ready["inventory-api"].url, timeout=5) as inventory,
    ):
        clinic = await bookable_clinic_with_supplies(booking, inventory, test_env)
        await receive(inventory, clinic, "cartridge", "CT-SYS", 2)
        await receive(inventory, clinic, "cream", "LC-SYS", 30)

        booked = await book(booking, clinic, 10)
        await status_becomes(booking, booked, "confirmed")
        assert (await stock(inventory, clinic))["CT-SYS"]["reserved"] == "1.000"

        link = {"Authorization": f"Bearer {booked['manage_token']}"}
        cancelled = await booking.post(f"/appointments/{booked['appointment']['id']}/cancel", json={}, headers=link)
        assert cancelled.status_code == 200, cancelled.text

        async def released() -> bool:
            return (await stock(inventory, clinic))["CT-SYS"]["reserved"] == "0.000"

        await eventually(released, timeout_s=10, what="inventory to release the cancelled visit's kit")


async def test_every_process_stops_cleanly_on_sigterm(ready: dict[str, ServiceProcess]) -> None:
    for process in ready.values():
        process.popen.send_signal(signal.SIGTERM)
    for process in ready.values():
        # uvicorn finishes the shutdown, then re-raises the signal: exit 143 to Docker and Kubernetes.
        assert process.popen.wait(timeout=20) in (0, -signal.SIGTERM), f"{process.name} was not stopped by SIGTERM"
        log = process.log.read_text()
        assert "Application shutdown complete" in log, f"{process.name} did not finish shutting down:\n{log[-2000:]}"
        if process.name.endswith("worker"):
            assert "worker_stopped" in log
