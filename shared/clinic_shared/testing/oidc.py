"""The development OpenID provider (`deploy/oidc/server.mjs`) as a child process, for tests and local
runs: started with its environment, waited for until its discovery document answers, stopped with
SIGTERM. The top of server.mjs describes every setting.

```python
write_staff(tmp / "staff.json", [StaffMember(login="maria", sub="staff-1", name="Maria", role=Role.CLINIC_MANAGER)])
with running(port=8090, signing_key_file=keys / "jwt-private.pem", staff_file=tmp / "staff.json",
             client=Client(client_id="clinic-web", client_secret="...", redirect_uris=(...,)),
             log=tmp / "oidc.log") as provider:
    provider.issuer, provider.jwks_url  # what the APIs' JWT_ISSUER and JWKS_URL name
```
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from clinic_shared.auth import Role

PROVIDER_DIR = Path(__file__).resolve().parents[3] / "deploy" / "oidc"


class ProviderUnavailable(RuntimeError):
    """Node or the provider's packages are missing, or the provider did not start."""


@dataclass(frozen=True)
class StaffMember:
    login: str
    sub: str
    name: str
    role: Role
    clinics: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class Client:
    """The provider's one client: the staff web app."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    auth_method: str = "client_secret_basic"


@dataclass
class OidcProvider:
    issuer: str
    client: Client
    popen: subprocess.Popen[bytes]
    log: Path
    discovery: dict[str, Any]

    @property
    def jwks_url(self) -> str:
        return str(self.discovery["jwks_uri"])

    @property
    def authorization_endpoint(self) -> str:
        return str(self.discovery["authorization_endpoint"])

    @property
    def token_endpoint(self) -> str:
        return str(self.discovery["token_endpoint"])

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def write_staff(path: Path, staff: Iterable[StaffMember]) -> Path:
    """The provider's demo staff file: `{login: {sub, name, role, clinics: [uuid, ...]}}`."""
    document = {
        member.login: {
            "sub": member.sub,
            "name": member.name,
            "role": member.role.value,
            "clinics": [str(clinic) for clinic in member.clinics],
        }
        for member in staff
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def node_command(directory: Path = PROVIDER_DIR) -> list[str]:
    """`node server.mjs`, once it is certain both are there."""
    node = shutil.which("node")
    if node is None:
        raise ProviderUnavailable("node is not installed: the development OpenID provider needs Node 20 or newer")
    if not (directory / "node_modules" / "oidc-provider").is_dir():
        raise ProviderUnavailable(
            f"the OpenID provider's packages are not installed in {directory}/node_modules: "
            f"run `npm ci --prefix {_shown(directory)}`"
        )
    return [node, str(directory / "server.mjs")]


def start(
    *,
    port: int,
    signing_key_file: Path,
    staff_file: Path,
    client: Client,
    log: Path,
    host: str = "127.0.0.1",
    timeout_s: float = 30.0,
    directory: Path = PROVIDER_DIR,
) -> OidcProvider:
    """Start the provider on `host:port` and return once its discovery document answers."""
    command = node_command(directory)
    issuer = f"http://{host}:{port}"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("OIDC_")}
    environment |= {
        "OIDC_ISSUER": issuer,
        "OIDC_HOST": host,
        "OIDC_PORT": str(port),
        "OIDC_SIGNING_KEY_FILE": str(signing_key_file),
        "OIDC_STAFF_FILE": str(staff_file),
        "OIDC_CLIENT_ID": client.client_id,
        "OIDC_CLIENT_SECRET": client.client_secret,
        "OIDC_CLIENT_AUTH_METHOD": client.auth_method,
        "OIDC_REDIRECT_URIS": " ".join(client.redirect_uris),
        "OIDC_POST_LOGOUT_REDIRECT_URIS": " ".join(client.post_logout_redirect_uris),
    }
    with log.open("wb") as output:
        # Our own server script run by the machine's node: no shell, no outside input.
        popen = subprocess.Popen(  # noqa: S603
            command, cwd=directory, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    provider = OidcProvider(issuer=issuer, client=client, popen=popen, log=log, discovery={})
    try:
        provider.discovery = _discovery(provider, timeout_s=timeout_s)
    except BaseException:
        stop(provider)
        raise
    return provider


def stop(provider: OidcProvider, *, timeout_s: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after `timeout_s`; the exit code (0 for a clean stop)."""
    if provider.popen.poll() is None:
        provider.popen.send_signal(signal.SIGTERM)
        try:
            provider.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            provider.popen.kill()
            provider.popen.wait()
    return provider.popen.returncode


@contextmanager
def running(
    *,
    port: int,
    signing_key_file: Path,
    staff_file: Path,
    client: Client,
    log: Path,
    host: str = "127.0.0.1",
) -> Iterator[OidcProvider]:
    provider = start(
        port=port, signing_key_file=signing_key_file, staff_file=staff_file, client=client, log=log, host=host
    )
    try:
        yield provider
    finally:
        stop(provider)


def _discovery(provider: OidcProvider, *, timeout_s: float) -> dict[str, Any]:
    url = f"{provider.issuer}/.well-known/openid-configuration"
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2) as http:
        while True:
            if provider.popen.poll() is not None:
                raise ProviderUnavailable(
                    f"the OpenID provider exited with {provider.popen.returncode}:\n{provider.log_tail()}"
                )
            try:
                response = http.get(url)
                if response.status_code == 200:
                    document: dict[str, Any] = response.json()
                    return document
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ProviderUnavailable(f"no answer from {url} after {timeout_s} s:\n{provider.log_tail()}")
            time.sleep(0.1)


def _shown(directory: Path) -> str:
    """`directory` relative to the working directory when it lies below it, as a person would type it."""
    try:
        return str(directory.relative_to(Path.cwd()))
    except ValueError:
        return str(directory)
