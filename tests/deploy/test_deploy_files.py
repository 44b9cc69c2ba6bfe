"""Offline checks of the deployment files.

- docker-compose.yml against the Compose specification (check-jsonschema's vendored schema), then its
  wiring: health checks, start-up order, databases, credentials, ports, builds, each process's settings
  as its service reads them; the gateway (its entrypoint run on the template, compared with what
  `clinic-ops gateway` renders), the pages' image and assets, and the development OpenID provider.
- Every kustomization (the base and each overlay) rendered by `kubectl kustomize` and validated strictly
  against the Kubernetes schemas (kubernetes-validate); the production overlay then checked for
  probes, hardening, secret handling, the gateway's wiring and settings that pass each service's own
  production checks.

Nothing here needs Docker or a cluster.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import pytest
import yaml

from clinic_shared.auth import Role
from clinic_shared.gateway import Gateway
from clinic_shared.messaging.topology import AUDITED, Topology
from clinic_shared.runtime import ServiceDefinition, discover_services

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PRODUCTION_OVERLAY = ROOT / "deploy" / "k8s" / "overlays" / "production"
# service -> (API port, worker health/metrics port), as in each service's settings.
SERVICES = {"booking": (8001, 8101), "inventory": (8002, 8102), "notifications": (8003, 8103)}
# The pages: one process (no worker, no broker) with a database of its own, for sessions.
WEB, WEB_PORT = "web", 8000
DATABASES = [*SERVICES, WEB]
KUSTOMIZATIONS = [ROOT / "deploy/k8s/base", *sorted(p for p in (ROOT / "deploy/k8s/overlays").iterdir() if p.is_dir())]
ONE_SHOT = {"migrate"}
GATEWAY_TEMPLATE = ROOT / "deploy/nginx/clinic.conf.template"
GATEWAY_DOCKERFILE = ROOT / "deploy/docker/gateway/Dockerfile"
GATEWAY_ENTRYPOINT = ROOT / "deploy/docker/gateway/entrypoint.sh"
WEB_DOCKERFILE = ROOT / "services/web/Dockerfile"
OIDC_DOCKERFILE = ROOT / "deploy/docker/oidc/Dockerfile"
# What the gateway forwards to: the same names and ports in compose and in Kubernetes.
UPSTREAMS = {"WEB": "web:8000", "BOOKING": "booking-api:8001", "INVENTORY": "inventory-api:8002",
             "NOTIFICATIONS": "notifications-api:8003"}  # fmt: skip
IMAGE_UID = 10001
KUBERNETES_VERSION = "1.30.0"
# A URL that carries a password: user:secret@host.
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
SECRET_ENV_NAME = re.compile(r"(DATABASE_URL|AMQP_URL|PASSWORD|SECRET|TOKEN|PRIVATE|JWT_PUBLIC_KEY)")


def _run(command: list[str | Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def _tool(name: str) -> Path:
    """A console script installed in the running interpreter's environment (a dev dependency)."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is not installed next to {sys.executable}; install the dev requirements"
    return path


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines = [line for line in dockerfile.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            found.append((keyword.upper(), arguments.strip()))
    return found


def _image_env(dockerfile: Path) -> dict[str, str]:
    """The ENV a Dockerfile sets (KEY=VALUE form)."""
    env: dict[str, str] = {}
    for keyword, arguments in _instructions(dockerfile):
        if keyword == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(arguments))
    return env


def _final_stage(dockerfile: Path) -> list[tuple[str, str]]:
    """The instructions of the last stage: what the image is."""
    instructions = _instructions(dockerfile)
    start = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[start:]


def _settings_of(
    definition: ServiceDefinition, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Any:  # a ServiceSettings
    """The service's settings as the process would read them from exactly this environment."""
    prefix = str(definition.settings_class.model_config.get("env_prefix", ""))
    with monkeypatch.context() as patch:
        for name in list(os.environ):
            if name.upper().startswith(prefix):
                patch.delenv(name)
        for name, value in env.items():
            if name.startswith(prefix):
                patch.setenv(name, value)
        return definition.settings_class()


def _render_gateway(env: dict[str, str], prefix: Path) -> subprocess.CompletedProcess[str]:
    """Run the gateway image's entrypoint on the repository's template with `env` (the image's ENV and
    the deployment's), files under `prefix`, and `true` instead of nginx."""
    env = env | {
        "GATEWAY_TEMPLATE": str(GATEWAY_TEMPLATE), "GATEWAY_PREFIX": str(prefix),
        "GATEWAY_STATIC": str(ROOT / "services/web/web/static"), "GATEWAY_ERRORS": str(ROOT / "deploy/nginx/errors"),
    }  # fmt: skip
    return subprocess.run(
        ["sh", GATEWAY_ENTRYPOINT, "true"], env={"PATH": os.environ["PATH"], **env},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def _same_as_clinic_ops_gateway(env: dict[str, str], oidc_issuer: str, hsts: bool, tmp_path: Path) -> None:
    """The entrypoint, given `env`, writes the very file `clinic-ops gateway` (./scripts/start, the
    browser tests) writes for the same upstreams: same template, every placeholder filled alike."""
    result = _render_gateway(env, tmp_path / "entrypoint")
    assert result.returncode == 0, f"the gateway's entrypoint failed:\n{result.stderr}"
    rendered = (tmp_path / "entrypoint" / "nginx.conf").read_text()
    assert "@@" not in rendered
    # The same prefix on purpose (it is in the file): clinic-ops writes its own nginx.conf over ours.
    expected = Gateway(
        listen=env["GATEWAY_LISTEN"], web=env["GATEWAY_WEB"], booking=env["GATEWAY_BOOKING"],
        inventory=env["GATEWAY_INVENTORY"], notifications=env["GATEWAY_NOTIFICATIONS"],
        static=ROOT / "services/web/web/static", oidc_issuer=oidc_issuer, hsts=hsts,
        page_rate=int(env["GATEWAY_PAGE_RATE"]), page_burst=int(env["GATEWAY_PAGE_BURST"]),
        api_rate=int(env["GATEWAY_API_RATE"]), api_burst=int(env["GATEWAY_API_BURST"]),
    ).render(tmp_path / "entrypoint")  # fmt: skip
    # The image runs as an ordinary user; only a root run of clinic-ops gateway names a worker user.
    assert rendered.splitlines() == [
        "" if line == "user root;" else line for line in expected.read_text().splitlines()
    ], "the gateway's entrypoint renders the template differently from clinic_shared.gateway"


# --- docker-compose.yml ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def _processes() -> list[tuple[str, str, int]]:
    """(compose service, service, port it serves /readyz on) for every API and worker, and the pages."""
    return (
        [(f"{svc}-api", svc, api) for svc, (api, _) in SERVICES.items()]
        + [(f"{svc}-worker", svc, worker) for svc, (_, worker) in SERVICES.items()]
        + [(WEB, WEB, WEB_PORT)]
    )


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def test_compose_file_follows_the_compose_specification() -> None:
    result = _run([_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", COMPOSE_FILE])
    assert result.returncode == 0, f"docker-compose.yml is not valid Compose:\n{result.stdout}\n{result.stderr}"


def test_every_api_and_worker_is_defined(services: dict[str, dict[str, Any]]) -> None:
    expected = {name for name, _, _ in _processes()} | ONE_SHOT | {"postgres", "rabbitmq", "gateway", "oidc"}
    assert expected <= set(services), f"missing: {sorted(expected - set(services))}"


def test_every_long_running_service_has_a_health_check(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if name in ONE_SHOT:
            continue
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"
        assert check.get("test"), f"{name}'s healthcheck has no test"


@pytest.mark.parametrize(("name", "svc", "port"), _processes())
def test_api_and_worker_health_checks_ask_readyz_on_their_own_port(
    services: dict[str, dict[str, Any]], name: str, svc: str, port: int
) -> None:
    test = services[name]["healthcheck"]["test"]
    command = " ".join(test)
    # The slim image has no curl: the check must run with the image's Python.
    assert test[0] == "CMD", f"{name}: use the exec form"
    assert test[1] == "python", f"{name}: check with python, not {test[1]}"
    assert f"http://127.0.0.1:{port}/readyz" in command, f"{name} does not check /readyz on port {port}: {command}"


def test_every_dependency_exists_and_waits_on_a_condition(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on must be a mapping with conditions"
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = (spec or {}).get("condition")
            if condition == "service_healthy":
                assert services[target].get("healthcheck"), f"{name} waits for {target} to be healthy; it has no check"
            elif condition == "service_completed_successfully":
                assert target in ONE_SHOT, f"{name} waits for {target} to complete, but it is long-running"
            else:
                pytest.fail(f"{name} -> {target}: condition {condition!r}; want service_healthy or _completed_")


@pytest.mark.parametrize(("name", "svc", "port"), _processes())
def test_processes_start_after_their_database_is_migrated(
    services: dict[str, dict[str, Any]], name: str, svc: str, port: int
) -> None:
    depends_on = services[name]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["postgres"]["condition"] == "service_healthy"
    if name.endswith("-worker"):
        assert depends_on["rabbitmq"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def _init_sql(services: dict[str, dict[str, Any]]) -> str:
    scripts = []
    for volume in services["postgres"]["volumes"]:
        source, target = volume.split(":")[:2]
        if target.startswith("/docker-entrypoint-initdb.d/"):
            scripts.append((ROOT / source).read_text())
    assert scripts, "postgres mounts no script into /docker-entrypoint-initdb.d"
    return "\n".join(scripts)


def test_postgres_creates_one_database_per_service_owned_by_its_own_role(
    services: dict[str, dict[str, Any]],
) -> None:
    sql = _init_sql(services)
    assert services["postgres"]["image"].split(":")[1].startswith("15")
    for svc in DATABASES:
        assert re.search(rf"CREATE ROLE {svc} LOGIN PASSWORD '[^']+'", sql), f"no login role {svc}"
        assert re.search(rf"CREATE DATABASE {svc} OWNER {svc};", sql), f"no database {svc} owned by {svc}"
        assert f"REVOKE ALL ON DATABASE {svc} FROM PUBLIC;" in sql, f"other roles may connect to {svc}"


@pytest.mark.parametrize("svc", SERVICES)
def test_each_service_connects_as_its_own_database_role_and_broker_user(
    services: dict[str, dict[str, Any]], svc: str
) -> None:
    sql = _init_sql(services)
    definitions = json.loads((ROOT / "deploy/docker/rabbitmq/definitions.json").read_text())
    broker_users = {user["name"]: user["password"] for user in definitions["users"]}
    vhosts = {vhost["name"] for vhost in definitions["vhosts"]}
    prefix = svc.upper()
    for name in (f"{svc}-api", f"{svc}-worker", "migrate"):
        environment = _environment(services[name])
        database = urlsplit(environment[f"{prefix}_DATABASE_URL"])
        assert database.scheme == "postgresql+asyncpg"
        assert (database.hostname, database.port, database.path) == ("postgres", 5432, f"/{svc}")
        assert database.username == svc, f"{name} uses role {database.username} for {svc}"
        assert f"CREATE ROLE {svc} LOGIN PASSWORD '{database.password}';" in sql, f"{name}: password differs"
        broker = urlsplit(environment[f"{prefix}_AMQP_URL"])
        assert (broker.hostname, broker.port) == ("rabbitmq", 5672)
        assert broker.username == svc, f"{name} uses broker user {broker.username}"
        assert broker_users.get(svc) == broker.password, f"{name}: broker password differs from definitions.json"
        assert broker.path.lstrip("/") in vhosts
        # Development values are only accepted in development; say so explicitly.
        assert environment[f"{prefix}_ENVIRONMENT"] == "development"


def test_the_pages_connect_as_their_own_database_role_and_to_no_broker(
    services: dict[str, dict[str, Any]],
) -> None:
    sql = _init_sql(services)
    definitions = json.loads((ROOT / "deploy/docker/rabbitmq/definitions.json").read_text())
    assert WEB not in {user["name"] for user in definitions["users"]}, "the pages need no broker user"
    for name in (WEB, "migrate"):
        environment = _environment(services[name])
        database = urlsplit(environment["WEB_DATABASE_URL"])
        assert (database.hostname, database.port, database.path) == ("postgres", 5432, f"/{WEB}")
        assert database.username == WEB, f"{name} uses role {database.username} for the pages"
        assert f"CREATE ROLE {WEB} LOGIN PASSWORD '{database.password}';" in sql, f"{name}: password differs"
        assert "WEB_AMQP_URL" not in environment, f"{name} gives the pages a broker"
        assert environment["WEB_ENVIRONMENT"] == "development"
    assert "rabbitmq" not in services[WEB].get("depends_on", {}), "the pages wait for a broker they do not use"


def test_migrate_job_migrates_every_service(services: dict[str, dict[str, Any]]) -> None:
    # `clinic-ops migrate` finds the services installed in the image (entry points): all of them.
    ops = (ROOT / "deploy/docker/base.Dockerfile").read_text().split("AS ops", 1)[1]
    environment = _environment(services["migrate"])
    for pyproject in sorted(ROOT.glob("services/*/pyproject.toml")):
        svc = pyproject.parent.name
        assert f"-e /app/services/{svc}" in ops, f"the migrate image does not install {svc}"
        assert f"{svc.upper()}_DATABASE_URL" in environment, f"migrate has no database URL for {svc}"
    assert "clinic-ops migrate &&" in " ".join(services["migrate"]["command"]), "migrate must name no service"


def test_every_process_is_accepted_by_its_services_settings(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each service reads its compose environment without error (JSON lists, URLs, development rules)."""
    definitions = discover_services()
    assert set(DATABASES) <= set(definitions)
    checked = set()
    for name, service in services.items():
        environment = _environment(service)
        for svc, definition in definitions.items():
            if any(key.startswith(f"{svc.upper()}_") for key in environment):
                settings = _settings_of(definition, environment, monkeypatch)
                assert settings.environment == "development", name
                checked.add((name, svc))
    assert {(name, svc) for name, svc, _ in _processes()} | {("migrate", svc) for svc in DATABASES} <= checked


def test_forwarded_addresses_are_believed_from_the_compose_network_only(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    """The gateway and the pages pass the visitor's address on; the APIs and the pages believe it only
    from the network they share (the subnet compose fixes), so rate limits key on visitors."""
    subnets = [ipaddress.ip_network(c["subnet"]) for c in compose["networks"]["default"]["ipam"]["config"]]
    assert subnets, "the compose network has no fixed subnet"
    for name, svc, _ in _processes():
        trusted = json.loads(_environment(services[name])[f"{svc.upper()}_TRUSTED_PROXIES"])
        assert [ipaddress.ip_network(n) for n in trusted] == subnets, f"{name} trusts {trusted}"


def test_broker_users_are_limited_to_their_own_queues() -> None:
    definitions = json.loads((ROOT / "deploy/docker/rabbitmq/definitions.json").read_text())
    permissions = {p["user"]: p for p in definitions["permissions"]}
    for svc in SERVICES:
        for kind in ("configure", "write", "read"):
            pattern = re.compile(permissions[svc][kind])
            assert pattern.fullmatch(f"{svc}.clinic-projection.retry.1"), f"{svc} cannot {kind} its own queues"
            for other in set(SERVICES) - {svc}:
                assert not pattern.fullmatch(f"{other}.clinic-projection"), f"{svc} may {kind} {other}'s queues"
        assert re.fullmatch(permissions[svc]["write"], "clinic.events"), f"{svc} cannot publish events"
        shape = Topology(prefix="", exchange="clinic.events", retry_delays_ms=(1000,), delivery_limit=5)
        for name in AUDITED.get(svc, {}):
            audit = shape.audit_queue(service=svc, name=name)
            assert audit in shape.declared_queues(service=svc, consumers=[]), "test runs delete what they declare"
            for kind in ("configure", "write", "read"):
                assert re.fullmatch(permissions[svc][kind], audit), f"{svc} cannot {kind} its audit queue {audit}"


def _published_ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    published = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            published.add((int(port["published"]), int(port["target"])))
        else:
            *_, host, container = str(port).split(":")
            published.add((int(host), int(container.split("/")[0])))
    return published


@pytest.mark.parametrize("svc", SERVICES)
def test_each_api_is_published_on_its_own_port(services: dict[str, dict[str, Any]], svc: str) -> None:
    api_port, _ = SERVICES[svc]
    assert (api_port, api_port) in _published_ports(services[f"{svc}-api"])


@pytest.mark.parametrize(("name", "svc", "port"), _processes())
def test_processes_are_built_from_their_service_dockerfile(
    services: dict[str, dict[str, Any]], name: str, svc: str, port: int
) -> None:
    build = services[name]["build"]
    assert build["context"] == "."
    dockerfile = ROOT / build["dockerfile"]
    assert build["dockerfile"] == f"services/{svc}/Dockerfile"
    text = dockerfile.read_text()
    # The base image named in the last FROM (the image's own stage) must be one compose builds first.
    bases = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert bases, f"{dockerfile} has no FROM"
    contexts = build.get("additional_contexts", {})
    assert bases[-1] in contexts, f"{name}: FROM {bases[-1]} is not an additional build context"
    provider = contexts[bases[-1]].removeprefix("service:")
    assert provider in services, f"{name}: base image from unknown service {provider}"
    exposed = re.search(r"^EXPOSE (.+)$", text, re.MULTILINE)
    assert exposed, f"{dockerfile} exposes no port"
    assert str(port) in exposed.group(1).split(), f"{dockerfile} does not expose {port}"
    expected_command = [f"{svc}-worker"] if name.endswith("-worker") else None
    assert services[name].get("command") == expected_command


def test_images_run_as_the_unprivileged_user_kubernetes_expects() -> None:
    base = (ROOT / "deploy/docker/base.Dockerfile").read_text()
    assert "FROM python:3.11-slim" in base
    dockerfiles = [ROOT / "deploy/docker/base.Dockerfile", *(ROOT / f"services/{s}/Dockerfile" for s in DATABASES)]
    for path in [*dockerfiles, GATEWAY_DOCKERFILE, OIDC_DOCKERFILE]:
        users = re.findall(r"^USER\s+(\S+)", path.read_text(), re.MULTILINE)
        assert users, f"{path} sets no USER"
        assert users[-1] == f"{IMAGE_UID}:{IMAGE_UID}", f"{path} ends as user {users[-1]}"


# --- the pages' image -----------------------------------------------------------------------------


def test_web_image_carries_the_npm_assets_the_pages_load() -> None:
    """The files ensure_web_assets (scripts/lib.sh) copies for ./scripts/start, installed in the image
    by `npm ci` from the committed lock file and copied into the static vendor folder; no CDN."""
    lib = (ROOT / "scripts/lib.sh").read_text()
    body = re.search(r"^ensure_web_assets\(\) \{\n(.*?)^\}", lib, re.MULTILINE | re.DOTALL)
    assert body, "scripts/lib.sh has no ensure_web_assets"
    assets = re.findall(r'"\$modules/([^"]+)"', body.group(1))
    assert assets, "ensure_web_assets copies nothing"
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, arguments in _instructions(WEB_DOCKERFILE):
        if keyword == "FROM":
            current = stages.setdefault(arguments.split()[-1] if " AS " in arguments.upper() else arguments, [])
        current.append((keyword, arguments))
    npm = [name for name, steps in stages.items() if any("npm ci" in a for k, a in steps if k == "RUN")]
    assert len(npm) == 1, f"{WEB_DOCKERFILE}: no stage (or several) runs npm ci"
    steps = stages[npm[0]]
    copied = " ".join(a for k, a in steps if k == "COPY").split()
    assert {"services/web/package.json", "services/web/package-lock.json"} <= set(copied), "npm ci without the lock"
    # Into the package's static vendor folder: straight from node_modules, or gathered by the npm stage.
    final = _final_stage(WEB_DOCKERFILE)
    vendor = [a for k, a in final if k == "COPY" and a.startswith(f"--from={npm[0]} ")]
    vendor = [a for a in vendor if a.split()[-1].rstrip("/") == "/app/services/web/web/static/vendor"]
    assert vendor, f"{WEB_DOCKERFILE} copies nothing from the npm stage into static/vendor"
    sources = " ".join(a for k, a in steps if k == "RUN") + " " + " ".join(vendor)
    for asset in assets:
        assert f"node_modules/{asset}" in sources, f"{WEB_DOCKERFILE} does not copy {asset} (ensure_web_assets does)"
    assert not re.search(r"https?://", WEB_DOCKERFILE.read_text()), "the image downloads something itself"
    assert [a for k, a in final if k == "CMD"] == ['["web-api"]']


# --- the gateway ----------------------------------------------------------------------------------


def _placeholders() -> set[str]:
    return set(re.findall(r"@@([A-Z_]+)@@", GATEWAY_TEMPLATE.read_text()))


def test_gateway_image_renders_the_template_at_start_with_the_pages_static_files(
    services: dict[str, dict[str, Any]],
) -> None:
    final = _final_stage(GATEWAY_DOCKERFILE)
    assert final[0][1].startswith("nginx:"), "the gateway runs an nginx image"
    copies = {a.split()[-1]: a.split()[-2] for k, a in final if k == "COPY"}
    env = _image_env(GATEWAY_DOCKERFILE)
    # The one template the repository has (not a copy), where the entrypoint reads it.
    assert copies[env["GATEWAY_TEMPLATE"]] == "deploy/nginx/clinic.conf.template"
    assert copies[env["GATEWAY_ERRORS"]] == "deploy/nginx/errors"
    assert env["GATEWAY_MIME_TYPES"] == "/etc/nginx/mime.types"
    # Static files from the web image (its npm stage), which compose builds first.
    (static,) = [a.split() for k, a in final if k == "COPY" and a.split()[-1] == env["GATEWAY_STATIC"]]
    assert static[-2] == "/app/services/web/web/static", "the gateway's static files are not the pages'"
    source = static[0].removeprefix("--from=")
    build = services["gateway"]["build"]
    assert build["dockerfile"] == str(GATEWAY_DOCKERFILE.relative_to(ROOT))
    assert build["additional_contexts"][source] == f"service:{WEB}", f"{source} is not the web image"
    (entrypoint,) = [json.loads(a) for k, a in final if k == "ENTRYPOINT"]
    assert copies[entrypoint[0]] == str(GATEWAY_ENTRYPOINT.relative_to(ROOT)), "another entrypoint runs"
    # Everything nginx writes is under its prefix, the one writable place (/tmp) of a read-only root.
    assert env["GATEWAY_PREFIX"].startswith("/tmp/")
    # The rate limits ./scripts/start's gateway has, unless a deployment says otherwise.
    for field in dataclasses.fields(Gateway):
        if field.name.endswith(("_rate", "_burst")):
            assert env[f"GATEWAY_{field.name.upper()}"] == str(field.default), f"{field.name} differs"


def test_gateway_fills_every_template_placeholder_from_the_compose_environment(
    services: dict[str, dict[str, Any]],
) -> None:
    given = set(_image_env(GATEWAY_DOCKERFILE)) | set(_environment(services["gateway"]))
    missing = {name for name in _placeholders() if f"GATEWAY_{name}" not in given}
    assert not missing, f"placeholders with no GATEWAY_ variable in compose or the image: {sorted(missing)}"


def test_gateway_entrypoint_renders_what_clinic_ops_gateway_renders(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    env = _image_env(GATEWAY_DOCKERFILE) | _environment(services["gateway"])
    issuer = _environment(services[WEB])["WEB_OIDC_ISSUER"]
    _same_as_clinic_ops_gateway(env, issuer, hsts=False, tmp_path=tmp_path)


def test_gateway_entrypoint_refuses_a_placeholder_it_has_no_value_for(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    env = _image_env(GATEWAY_DOCKERFILE) | _environment(services["gateway"])
    del env["GATEWAY_WEB"]
    result = _render_gateway(env, tmp_path)
    assert result.returncode != 0
    assert "GATEWAY_WEB" in result.stderr
    assert not (tmp_path / "nginx.conf").exists()
    result = _render_gateway(env | {"GATEWAY_WEB": "web:8000", "GATEWAY_HSTS": "yes"}, tmp_path)
    assert result.returncode != 0
    assert "GATEWAY_HSTS" in result.stderr


def test_gateway_entrypoint_writes_values_exactly_as_given(services: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    # What sed would otherwise read as its own syntax: the delimiter, a back-reference, an escape.
    origin = r"https://id.clinic.example:8443/a|b&c\d"
    env = _image_env(GATEWAY_DOCKERFILE) | _environment(services["gateway"]) | {"GATEWAY_OIDC_ORIGIN": origin}
    result = _render_gateway(env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"form-action 'self' {origin};" in (tmp_path / "nginx.conf").read_text()


def test_gateway_is_the_one_published_url_in_front_of_every_process(
    services: dict[str, dict[str, Any]],
) -> None:
    env = _image_env(GATEWAY_DOCKERFILE) | _environment(services["gateway"])
    listen = int(env["GATEWAY_LISTEN"].rsplit(":", 1)[-1])
    public = urlsplit(_environment(services[WEB])["WEB_PUBLIC_URL"])
    assert (public.port, listen) in _published_ports(services["gateway"]), "the public URL is not the gateway"
    assert not _published_ports(services[WEB]), "the pages are reached through the gateway only"
    notifications = _environment(services["notifications-api"])
    assert notifications["NOTIFICATIONS_PUBLIC_BASE_URL"] == public.geturl(), "links in messages miss the gateway"
    depends_on = services["gateway"]["depends_on"]
    for name, upstream in UPSTREAMS.items():
        assert env[f"GATEWAY_{name}"] == upstream
        host, port = upstream.split(":")
        assert host in services, f"the gateway forwards to {host}, which compose does not run"
        readyz = " ".join(services[host]["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/" in readyz, f"{host} does not serve on {port}"
        # nginx resolves upstream names at start: it starts after them, and again with them.
        assert depends_on[host] == {"condition": "service_healthy", "restart": True}, f"gateway vs {host}"
    # nginx itself, not an upstream through it: a file it serves from its own image.
    path = urlsplit(services["gateway"]["healthcheck"]["test"][-1]).path
    assert path.startswith("/static/"), f"the gateway's health check asks {path}"
    assert (ROOT / "services/web/web" / path.lstrip("/")).is_file(), f"the gateway has no {path} to serve"


# --- the development OpenID provider --------------------------------------------------------------


def _default(value: str) -> str:
    """A compose value with `${NAME:-default}` interpolation, as compose reads it when NAME is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """container path -> (source, read-only) of a service's short-syntax volumes."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *options = _default(volume).split(":")
        found[target] = (source, "ro" in options)
    return found


def test_pages_apis_and_provider_agree_on_the_issuer_and_client(services: dict[str, dict[str, Any]]) -> None:
    provider = _environment(services["oidc"])
    web = _environment(services[WEB])
    issuer = provider["OIDC_ISSUER"]
    assert web["WEB_OIDC_ISSUER"] == issuer
    for name, svc, _ in _processes():
        environment = _environment(services[name])
        assert environment[f"{svc.upper()}_JWT_ISSUER"] == issuer, f"{name} expects another issuer"
        assert environment[f"{svc.upper()}_JWKS_URL"] == f"{issuer}/jwks", f"{name} reads another JWKS"
    assert "oidc" in services["booking-api"]["depends_on"], "the APIs verify tokens with the provider's JWKS"
    assert web["WEB_OIDC_CLIENT_ID"] == provider["OIDC_CLIENT_ID"]
    assert web["WEB_OIDC_CLIENT_SECRET"] == provider["OIDC_CLIENT_SECRET"]
    public = web["WEB_PUBLIC_URL"]
    assert f"{public}/staff/callback" in provider["OIDC_REDIRECT_URIS"].split()
    assert f"{public}/staff/signed-out" in provider["OIDC_POST_LOGOUT_REDIRECT_URIS"].split()
    gateway = _environment(services["gateway"])
    origin = urlsplit(issuer)
    assert gateway["GATEWAY_OIDC_ORIGIN"] == f"{origin.scheme}://{origin.netloc}", "the CSP blocks the sign-in form"


def test_provider_url_is_one_name_for_the_browser_and_the_containers(services: dict[str, dict[str, Any]]) -> None:
    """The pages fetch discovery from the URL the browser is sent to: a *.localhost name (a browser
    resolves it to this machine, where the port is published) that is the provider's alias inside."""
    provider = services["oidc"]
    issuer = urlsplit(_environment(provider)["OIDC_ISSUER"])
    assert str(issuer.hostname).endswith(".localhost")
    assert issuer.hostname in provider["networks"]["default"]["aliases"]
    port = int(_environment(provider)["OIDC_PORT"])
    assert issuer.port == port
    assert (port, port) in _published_ports(provider)


def test_provider_signs_with_the_development_issuers_key(services: dict[str, dict[str, Any]]) -> None:
    key = Path(_environment(services["oidc"])["OIDC_SIGNING_KEY_FILE"])
    provider, issuer = _mounts(services["oidc"]), _mounts(services["issuer"])
    (target,) = [t for t in provider if key.is_relative_to(t)]
    source, read_only = provider[target]
    assert read_only, "the provider may change the issuer's keys"
    assert issuer.get(target, ("", False))[0] == source, "the provider's key is not the issuer's key volume"
    # The private key `clinic-ops keys` writes there.
    assert f"clinic-ops keys {target}" in services["issuer"]["command"][-1]
    assert key == Path(target) / "jwt-private.pem"
    # `clinic-ops keys` makes the private key readable by its owner only, the images' user.
    assert [a for k, a in _instructions(OIDC_DOCKERFILE) if k == "USER"][-1] == f"{IMAGE_UID}:{IMAGE_UID}"
    assert services["oidc"]["depends_on"]["issuer"]["condition"] == "service_healthy"


def test_provider_image_and_demo_staff(services: dict[str, dict[str, Any]]) -> None:
    instructions = _instructions(OIDC_DOCKERFILE)
    assert instructions[0] == ("FROM", "node:20-alpine")
    copied = " ".join(a for k, a in instructions if k == "COPY").split()
    assert {"deploy/oidc/package-lock.json", "deploy/oidc/server.mjs"} <= set(copied)
    assert any(k == "RUN" and "npm ci" in a for k, a in instructions)
    assert services["oidc"]["build"]["dockerfile"] == str(OIDC_DOCKERFILE.relative_to(ROOT))
    staff_file = Path(_environment(services["oidc"])["OIDC_STAFF_FILE"])
    source, read_only = _mounts(services["oidc"])[str(staff_file)]
    assert read_only
    # The rules server.mjs checks at start-up, so a broken file shows here rather than as a crash loop.
    staff = json.loads((ROOT / source).read_text())
    roles = {role.value for role in Role}
    assert len({member["sub"] for member in staff.values()}) == len(staff), "a sub is used twice"
    for login, member in staff.items():
        assert member["role"] in roles, f"{login}: unknown role {member['role']}"
        assert isinstance(member["clinics"], list), f"{login}: clinics is a list of clinic ids"
        assert all(UUID(clinic) for clinic in member["clinics"]), f"{login}: a clinic id is not a UUID"
    assert any(member["role"] == "admin" for member in staff.values()), "no admin to sign in with"


# --- Kubernetes -----------------------------------------------------------------------------------


def _kubectl() -> str:
    found = shutil.which("kubectl") or ("/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None)
    if found is None:
        pytest.skip("kubectl is not installed: cannot render the kustomize overlay")
    return found


@pytest.fixture(scope="module")
def rendered() -> str:
    result = _run([_kubectl(), "kustomize", PRODUCTION_OVERLAY])
    assert result.returncode == 0, f"kustomize failed:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def manifests(rendered: str) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = [doc for doc in yaml.safe_load_all(rendered) if doc]
    return documents


def _of_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def _containers(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    pod = manifest["spec"]["template"]["spec"]
    containers: list[dict[str, Any]] = pod.get("initContainers", []) + pod["containers"]
    return containers


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=lambda path: path.name)
def test_every_kustomization_renders_and_passes_strict_kubernetes_validation(
    kustomization: Path, tmp_path: Path
) -> None:
    pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is not installed")
    result = _run([_kubectl(), "kustomize", kustomization])
    assert result.returncode == 0, f"kustomize {kustomization.name} failed:\n{result.stderr}"
    target = tmp_path / f"{kustomization.name}.yaml"
    target.write_text(result.stdout)
    result = _run([_tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION, target])
    assert result.returncode == 0, f"kubernetes-validate --strict failed:\n{result.stdout}\n{result.stderr}"


def test_kustomizations_include_every_overlay() -> None:
    assert ROOT / "deploy/k8s/overlays/production" in KUSTOMIZATIONS
    assert all((path / "kustomization.yaml").is_file() for path in KUSTOMIZATIONS)


def test_every_service_has_its_api_worker_service_and_migration(manifests: list[dict[str, Any]]) -> None:
    deployments, jobs = _of_kind(manifests, "Deployment"), _of_kind(manifests, "Job")
    services = _of_kind(manifests, "Service")
    for svc, (api_port, worker_port) in SERVICES.items():
        assert {f"{svc}-api", f"{svc}-worker"} <= set(deployments)
        assert f"{svc}-migrate" in jobs
        migrate = " ".join(_containers(jobs[f"{svc}-migrate"])[0]["command"])
        assert f"clinic-ops migrate {svc}" in migrate
        assert f"clinic-ops topology {svc}" in migrate, "the job must declare the topology before workers start"
        assert _containers(deployments[f"{svc}-worker"])[0]["command"] == [f"{svc}-worker"]
        api_ports = {p["name"]: p["containerPort"] for p in _containers(deployments[f"{svc}-api"])[0]["ports"]}
        worker_ports = {p["name"]: p["containerPort"] for p in _containers(deployments[f"{svc}-worker"])[0]["ports"]}
        assert api_ports == {"http": api_port}
        assert worker_ports == {"http": worker_port}
        service = services[f"{svc}-api"]
        assert service["spec"]["selector"] == deployments[f"{svc}-api"]["spec"]["selector"]["matchLabels"]
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(api_port, "http")]


def test_the_pages_have_a_deployment_service_and_migration(manifests: list[dict[str, Any]]) -> None:
    deployments, jobs = _of_kind(manifests, "Deployment"), _of_kind(manifests, "Job")
    services = _of_kind(manifests, "Service")
    assert f"{WEB}-worker" not in deployments, "the pages have no worker"
    (container,) = _containers(deployments[WEB])
    assert container["image"].split(":")[0] == f"clinic-{WEB}"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": WEB_PORT}
    service = services[WEB]
    assert service["spec"]["selector"] == deployments[WEB]["spec"]["selector"]["matchLabels"]
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(WEB_PORT, "http")]
    (migrate,) = _containers(jobs[f"{WEB}-migrate"])
    assert migrate["image"] == container["image"]
    assert f"clinic-ops migrate {WEB}" in " ".join(migrate["command"])
    assert jobs[f"{WEB}-migrate"]["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"


def test_gateway_forwards_to_the_services_in_the_manifests(manifests: list[dict[str, Any]]) -> None:
    deployments, services = _of_kind(manifests, "Deployment"), _of_kind(manifests, "Service")
    (config_map,) = _of_kind(manifests, "ConfigMap").values()
    (container,) = _containers(deployments["gateway"])
    assert container["image"].split(":")[0] == "clinic-gateway"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = _image_env(GATEWAY_DOCKERFILE) | config_map["data"]
    assert ports == {"http": int(env["GATEWAY_LISTEN"])}
    service = services["gateway"]
    assert service["spec"]["selector"] == deployments["gateway"]["spec"]["selector"]["matchLabels"]
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    for name, upstream in UPSTREAMS.items():
        assert config_map["data"][f"GATEWAY_{name}"] == upstream
        host, port = upstream.split(":")
        assert int(port) in [p["port"] for p in services[host]["spec"]["ports"]], f"no Service {upstream}"
    missing = {name for name in _placeholders() if f"GATEWAY_{name}" not in env}
    assert not missing, f"placeholders with no GATEWAY_ variable in clinic-config or the image: {sorted(missing)}"


def test_production_gateway_renders_what_clinic_ops_gateway_renders_with_hsts(
    manifests: list[dict[str, Any]], tmp_path: Path
) -> None:
    (config_map,) = _of_kind(manifests, "ConfigMap").values()
    env = _image_env(GATEWAY_DOCKERFILE) | {k: v for k, v in config_map["data"].items() if k.startswith("GATEWAY_")}
    assert env["GATEWAY_HSTS"] == "on", "production answers https only: send Strict-Transport-Security"
    issuer = config_map["data"]["WEB_OIDC_ISSUER"]
    _same_as_clinic_ops_gateway(env, issuer, hsts=True, tmp_path=tmp_path)


def test_production_runs_at_least_two_of_every_process(manifests: list[dict[str, Any]]) -> None:
    deployments = _of_kind(manifests, "Deployment")
    # An API and a worker per service, the pages and the gateway.
    assert len(deployments) == 2 * len(SERVICES) + 2
    for name, deployment in deployments.items():
        assert deployment["spec"].get("replicas", 1) >= 2, f"{name} runs a single replica"
    budgets = _of_kind(manifests, "PodDisruptionBudget")
    for name, deployment in deployments.items():
        assert name in budgets, f"{name} has no PodDisruptionBudget"
        assert budgets[name]["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def test_production_settings_come_from_the_generated_config_map(manifests: list[dict[str, Any]]) -> None:
    config_maps = _of_kind(manifests, "ConfigMap")
    assert len(config_maps) == 1
    ((config_name, config_map),) = config_maps.items()
    for svc in DATABASES:
        assert config_map["data"][f"{svc.upper()}_ENVIRONMENT"] == "production"
        # Outside development a service refuses to start without a way to verify tokens.
        assert config_map["data"][f"{svc.upper()}_JWKS_URL"].startswith("https://")
    for kind in ("Deployment", "Job"):
        for name, manifest in _of_kind(manifests, kind).items():
            for container in _containers(manifest):
                sources = [s["configMapRef"]["name"] for s in container.get("envFrom", []) if "configMapRef" in s]
                assert sources == [config_name], f"{name}/{container['name']} reads config from {sources}"


def test_every_process_container_has_liveness_and_readiness_probes(manifests: list[dict[str, Any]]) -> None:
    for name, deployment in _of_kind(manifests, "Deployment").items():
        for container in _containers(deployment):
            port_names = {p["name"] for p in container.get("ports", [])}
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                assert probe in container, f"{name}/{container['name']} has no {probe}"
                http = container[probe]["httpGet"]
                if name == "gateway":
                    # nginx itself, not an upstream through it: a gateway whose upstream is down stays
                    # ready and alive, answering with its error pages.
                    assert http["path"].startswith("/static/"), f"the gateway's {probe} asks {http['path']}"
                    assert (ROOT / "services/web/web" / http["path"].lstrip("/")).is_file(), f"no {http['path']}"
                else:
                    assert http["path"] == path, f"{name}/{container['name']} {probe} asks {http['path']}"
                assert http["port"] in port_names, f"{name}/{container['name']} {probe} uses an unknown port"


def _secret_value(key: str) -> str:
    """A value of the kind the operator puts in clinic-secrets under `key`, never a placeholder."""
    token = secrets.token_urlsafe(36)
    owner = key.split("_", 1)[0].lower()
    if key.endswith("_DATABASE_URL"):
        return f"postgresql+asyncpg://{owner}:{token}@db.clinic.internal:5432/{owner}"
    if key.endswith("_AMQP_URL"):
        return f"amqp://{owner}:{token}@broker.clinic.internal:5672/clinic"
    return token


def test_production_settings_pass_each_services_own_checks(
    manifests: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every process reads clinic-config and its Secret references as its service's settings, with
    ENVIRONMENT=production: nothing relies on a development default, URLs are https where required."""
    (config_map,) = _of_kind(manifests, "ConfigMap").values()
    definitions = discover_services()
    checked = set()
    for kind in ("Deployment", "Job"):
        for name, manifest in _of_kind(manifests, kind).items():
            svc = manifest["metadata"]["labels"]["app.kubernetes.io/name"]
            if svc not in definitions:
                continue  # the gateway: its settings are checked against the template above
            for container in _containers(manifest):
                env = dict(config_map["data"])
                for variable in container.get("env", []):
                    reference = variable.get("valueFrom", {}).get("secretKeyRef")
                    env[variable["name"]] = _secret_value(reference["key"]) if reference else variable["value"]
                try:
                    settings = _settings_of(definitions[svc], env, monkeypatch)
                except ValueError as error:
                    pytest.fail(f"{name}/{container['name']} would not start:\n{error}")
                assert settings.environment == "production"
                checked.add(svc)
    assert checked == set(DATABASES)


def test_every_pod_is_non_root_and_bounded(manifests: list[dict[str, Any]]) -> None:
    for kind in ("Deployment", "Job"):
        for name, manifest in _of_kind(manifests, kind).items():
            pod = manifest["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, f"{name} may run as root"
            assert pod["securityContext"]["runAsUser"] == IMAGE_UID, f"{name} runs as another uid than the image"
            for container in _containers(manifest):
                where = f"{name}/{container['name']}"
                assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
                assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], where
                for bound in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{where} lacks {bound}"


def test_no_secret_values_are_committed(manifests: list[dict[str, Any]], rendered: str) -> None:
    assert not _of_kind(manifests, "Secret"), "a Secret is rendered; the operator creates clinic-secrets"
    assert not CREDENTIALS_IN_URL.search(rendered), "a URL with credentials is in the manifests"
    for config_map in _of_kind(manifests, "ConfigMap").values():
        leaked = [key for key in config_map["data"] if SECRET_ENV_NAME.search(key)]
        assert not leaked, f"secret settings in a ConfigMap: {leaked}"
    secret_refs = 0
    for kind in ("Deployment", "Job"):
        for name, manifest in _of_kind(manifests, kind).items():
            for container in _containers(manifest):
                for variable in container.get("env", []):
                    if not SECRET_ENV_NAME.search(variable["name"]):
                        continue
                    assert "value" not in variable, f"{name}: {variable['name']} has a literal value"
                    reference = variable["valueFrom"]["secretKeyRef"]
                    assert reference["name"] == "clinic-secrets", f"{name}: {variable['name']} from {reference}"
                    secret_refs += 1
    # Every API, worker and migration reads its database and broker URL from the Secret, and booking's
    # and notifications' three also the manage-link signing secret; the pages and their migration their
    # database URL and the OpenID client secret.
    assert secret_refs == 2 * 3 * len(SERVICES) + 2 * 3 + 2 * 2
