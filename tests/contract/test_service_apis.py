"""Schemathesis against each running service API (booking, inventory, notifications): generated requests never
cause a 5xx and every response matches the OpenAPI document (status codes, content types, bodies)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig

from clinic_shared.auth import Role
from clinic_shared.runtime import discover_services
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.processes import ServiceProcess, free_port, start, stop, wait_until_ready

pytestmark = pytest.mark.contract

# Every check but "schema-valid data is accepted": an unknown time zone or overlapping opening hours
# are schema-valid and still a documented 422 from the domain rules.
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {"enabled": False}}})


# The service, and how many operations its schema has at least (a guard against losing routes).
APIS = {"booking": 20, "inventory": 15, "notifications": 3}


@pytest.fixture(scope="module", params=sorted(APIS))
async def service_api(
    request: pytest.FixtureRequest,
    test_env: TestEnvironment,
    service_databases: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    name: str = request.param
    port = free_port()
    definition = discover_services()[name]
    env = {**os.environ, **test_env.environ(definition, http_port=port, worker_http_port=free_port())}
    process = start(f"{name}-api", port=port, env=env, logs=tmp_path_factory.mktemp(f"schemathesis-{name}"))
    try:
        await wait_until_ready([process])
        yield name, process
    finally:
        stop([process])


def test_the_api_never_fails_and_keeps_to_its_schema(
    service_api: tuple[str, ServiceProcess], test_env: TestEnvironment
) -> None:
    name, api = service_api
    # Schemathesis' pytest plugin does not run under pytest 9 here (`Function` has no `_nodeid`), so
    # its Python API drives Hypothesis directly, one operation after another, as an admin.
    admin = test_env.auth_header(Role.ADMIN)
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json", config=CONFIG)
    failures = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= APIS[name], "the schema lost its operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exercise(case: Any) -> None:
            case.call_and_validate(headers=admin)

        try:
            exercise()
        except Exception as failure:  # collect every operation's failure, then report them together
            failures[operation.label] = failure
    assert not failures, "\n\n".join(f"{label}:\n{failure}" for label, failure in failures.items())
