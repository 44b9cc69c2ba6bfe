"""The whole platform as processes, as `./scripts/start` runs it: the three APIs and their workers, the
pages, the development OpenID provider, and the nginx gateway in front, with a real SMTP server and
the fake SMS provider at the edge. For the browser tests, the page benchmarks and the screenshots.

The services verify the provider's tokens and the tests' minted ones alike: both are signed with the
run's key under the provider's issuer."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import os
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from aiosmtpd.controller import Controller

from clinic_shared.auth import Role
from clinic_shared.gateway import Gateway, command
from clinic_shared.runtime import discover_services
from clinic_shared.testing import oidc
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.processes import (
    ServiceProcess,
    free_port,
    serving_in_thread,
    start,
    start_command,
    stop,
    wait_until_ready,
)
from notifications.fake_sms import FakeProvider
from notifications.fake_sms import create_app as create_fake_sms
from tests.journeys import bookable_clinic_with_supplies, receive

STATIC = Path(__file__).resolve().parents[1] / "services" / "web" / "web" / "static"
CLIENT_SECRET = "test-only-web-client-secret"


class MailSink:
    """A real SMTP server in the test process: notifications' worker sends to it."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if address in str(m["To"])]

    def link(self, address: str, path: str) -> str:
        """The newest e-mail's link to `path` (e.g. /manage/) for this address."""
        for message in reversed(self.to(address)):
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found = re.findall(rf"http://\S+{re.escape(path)}\S*", body.get_content())
            if found:
                return str(found[0])
        raise AssertionError(f"no e-mail to {address} with a link to {path}")

    async def arriving_link(self, address: str, path: str, *, within_s: float = 15.0) -> str:
        """`link`, waiting for the e-mail to arrive (the worker sends it a moment after the event)."""
        deadline = asyncio.get_running_loop().time() + within_s
        while True:
            try:
                return self.link(address, path)
            except AssertionError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.1)


@dataclass
class Platform:
    url: str  # the gateway: the one address a visitor uses
    apis: dict[str, str]
    env: TestEnvironment  # with the provider's issuer
    mail: MailSink
    texts: FakeProvider
    clinic: dict[str, Any]  # a bookable clinic with supplies
    staff: dict[str, oidc.StaffMember]
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def admin(self) -> dict[str, str]:
        return self.env.auth_header(Role.ADMIN)


@asynccontextmanager
async def running_platform(test_env: TestEnvironment, tmp: Path) -> AsyncIterator[Platform]:
    ports = {name: free_port() for name in ("booking", "inventory", "notifications", "web", "oidc", "gateway")}
    gateway_url, issuer = f"http://127.0.0.1:{ports['gateway']}", f"http://127.0.0.1:{ports['oidc']}"
    env = dataclasses.replace(test_env, issuer=issuer)
    keys = tmp / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    (keys / "jwt-private.pem").write_text(env.private_key)
    mail = MailSink()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    smtp.start()
    async with AsyncExitStack() as stack:
        stack.callback(smtp.stop)
        texts_url = stack.enter_context(serving_in_thread(create_fake_sms(api_key="platform-key"), name="sms"))
        texts = FakeProvider("primary", texts_url, "platform-key")
        processes: dict[str, ServiceProcess] = {}
        stack.callback(stop, processes.values())
        for name in ("booking", "inventory", "notifications"):
            processes |= _service(name, env, ports[name], tmp, overrides={
                "smtp_port": smtp.port, "sms_primary_url": texts.url, "sms_primary_key": texts.api_key,
                "public_base_url": gateway_url,
            } if name == "notifications" else {})  # fmt: skip
        await wait_until_ready(processes.values())
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['booking']}") as booking,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['inventory']}") as inventory,
        ):
            clinic = await bookable_clinic_with_supplies(booking, inventory, env)
            for item, lot in (("cartridge", "PL-C1"), ("cream", "PL-N1")):
                await receive(inventory, clinic, item, lot, 200)
        staff = _staff(clinic)
        staff_file = oidc.write_staff(tmp / "staff.json", staff.values())
        provider = oidc.start(
            port=ports["oidc"], signing_key_file=keys / "jwt-private.pem", staff_file=staff_file, log=tmp / "oidc.log",
            client=oidc.Client(client_id="clinic-web", client_secret=CLIENT_SECRET,
                               redirect_uris=(f"{gateway_url}/staff/callback",),
                               post_logout_redirect_uris=(f"{gateway_url}/staff/signed-out",)),
        )  # fmt: skip
        stack.callback(oidc.stop, provider)
        processes |= _service("web", env, ports["web"], tmp, overrides={
            "booking_api_url": f"http://127.0.0.1:{ports['booking']}",
            "inventory_api_url": f"http://127.0.0.1:{ports['inventory']}",
            "notifications_api_url": f"http://127.0.0.1:{ports['notifications']}",
            "public_url": gateway_url, "oidc_issuer": issuer, "oidc_client_secret": CLIENT_SECRET,
        })  # fmt: skip
        processes["gateway"] = _gateway(ports, tmp)
        await wait_until_ready([processes["web-api"], processes["gateway"]])
        apis = {name: f"http://127.0.0.1:{ports[name]}" for name in ("booking", "inventory", "notifications")}
        yield Platform(url=gateway_url, apis=apis, env=env, mail=mail, texts=texts, clinic=clinic, staff=staff,
                       processes=processes)  # fmt: skip


def _service(name: str, env: TestEnvironment, port: int, tmp: Path, *, overrides: dict[str, Any]) -> dict[str, Any]:
    definition = discover_services()[name]
    worker_port = free_port()
    environ = {**os.environ, **env.environ(definition, http_port=port, worker_http_port=worker_port,
                                           log_level="INFO", **overrides)}  # fmt: skip
    started = {f"{name}-api": start(f"{name}-api", port=port, env=environ, logs=tmp)}
    if definition.has_worker:
        started[f"{name}-worker"] = start(f"{name}-worker", port=worker_port, env=environ, logs=tmp)
    return started


def _gateway(ports: dict[str, int], tmp: Path) -> ServiceProcess:
    config = Gateway(
        listen=f"127.0.0.1:{ports['gateway']}", web=f"127.0.0.1:{ports['web']}",
        booking=f"127.0.0.1:{ports['booking']}", inventory=f"127.0.0.1:{ports['inventory']}",
        notifications=f"127.0.0.1:{ports['notifications']}", static=STATIC,
        oidc_issuer=f"http://127.0.0.1:{ports['oidc']}",
        page_rate=200, page_burst=400, api_rate=200, api_burst=400,  # tests are one very busy visitor
    ).render(tmp / "gateway")  # fmt: skip
    return start_command("gateway", command(config), port=ports["gateway"], env=dict(os.environ),
                         log=tmp / "gateway.log")  # fmt: skip


def _staff(clinic: dict[str, Any]) -> dict[str, oidc.StaffMember]:
    here = (UUID(clinic["id"]),)
    members = [
        oidc.StaffMember(login="admin", sub="staff-admin", name="Alex Admin", role=Role.ADMIN),
        oidc.StaffMember(login="manager", sub="staff-manager", name="Mira Manager", role=Role.CLINIC_MANAGER,
                         clinics=here),
        oidc.StaffMember(login="desk", sub="staff-desk", name="Dana Desk", role=Role.FRONT_DESK, clinics=here),
    ]  # fmt: skip
    return {member.login: member for member in members}
