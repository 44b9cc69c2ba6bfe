"""Offline checks of the deployment files.

- docker-compose.yml against the Compose specification (check-jsonschema's vendored schema), then its
  wiring: health checks, start-up order, databases, credentials, ports, builds.
- The Kubernetes production overlay rendered by `kubectl kustomize`, validated strictly against the
  Kubernetes schemas (kubernetes-validate), then checked for probes, hardening and secret handling.

Nothing here needs Docker or a cluster.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from clinic_shared.messaging.topology import AUDITED, Topology

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PRODUCTION_OVERLAY = ROOT / "deploy" / "k8s" / "overlays" / "production"
# service -> (API port, worker health/metrics port), as in each service's settings.
SERVICES = {"booking": (8001, 8101), "inventory": (8002, 8102), "notifications": (8003, 8103)}
ONE_SHOT = {"migrate"}
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
    """(compose service, service, port it serves /readyz on) for every API and worker."""
    return [(f"{svc}-api", svc, api) for svc, (api, _) in SERVICES.items()] + [
        (f"{svc}-worker", svc, worker) for svc, (_, worker) in SERVICES.items()
    ]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def test_compose_file_follows_the_compose_specification() -> None:
    result = _run([_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", COMPOSE_FILE])
    assert result.returncode == 0, f"docker-compose.yml is not valid Compose:\n{result.stdout}\n{result.stderr}"


def test_every_api_and_worker_is_defined(services: dict[str, dict[str, Any]]) -> None:
    expected = {name for name, _, _ in _processes()} | ONE_SHOT | {"postgres", "rabbitmq"}
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
    for svc in SERVICES:
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
    # The base image named in FROM must be one compose knows how to build first.
    base = re.search(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert base, f"{dockerfile} has no FROM"
    contexts = build.get("additional_contexts", {})
    assert base.group(1) in contexts, f"{name}: FROM {base.group(1)} is not an additional build context"
    provider = contexts[base.group(1)].removeprefix("service:")
    assert provider in services, f"{name}: base image from unknown service {provider}"
    exposed = re.search(r"^EXPOSE (.+)$", text, re.MULTILINE)
    assert exposed, f"{dockerfile} exposes no port"
    assert str(port) in exposed.group(1).split(), f"{dockerfile} does not expose {port}"
    expected_command = [f"{svc}-worker"] if name.endswith("-worker") else None
    assert services[name].get("command") == expected_command


def test_images_run_as_the_unprivileged_user_kubernetes_expects() -> None:
    base = (ROOT / "deploy/docker/base.Dockerfile").read_text()
    assert "FROM python:3.11-slim" in base
    for path in [ROOT / "deploy/docker/base.Dockerfile", *(ROOT / f"services/{s}/Dockerfile" for s in SERVICES)]:
        users = re.findall(r"^USER\s+(\S+)", path.read_text(), re.MULTILINE)
        assert users, f"{path} sets no USER"
        assert users[-1] == f"{IMAGE_UID}:{IMAGE_UID}", f"{path} ends as user {users[-1]}"


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


def test_production_overlay_passes_strict_kubernetes_validation(rendered: str, tmp_path: Path) -> None:
    pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is not installed")
    target = tmp_path / "production.yaml"
    target.write_text(rendered)
    result = _run([_tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION, target])
    assert result.returncode == 0, f"kubernetes-validate --strict failed:\n{result.stdout}\n{result.stderr}"


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


def test_production_runs_at_least_two_of_every_process(manifests: list[dict[str, Any]]) -> None:
    deployments = _of_kind(manifests, "Deployment")
    assert len(deployments) == 2 * len(SERVICES)
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
    for svc in SERVICES:
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
                assert http["path"] == path, f"{name}/{container['name']} {probe} asks {http['path']}"
                assert http["port"] in port_names, f"{name}/{container['name']} {probe} uses an unknown port"


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
    # and notifications' three also the manage-link signing secret.
    assert secret_refs == 2 * 3 * len(SERVICES) + 2 * 3
