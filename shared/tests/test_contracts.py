"""The committed event schemas are a promise: the models may only grow optional fields."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from clinic_shared.events import contracts
from clinic_shared.events.catalogue import CATALOGUE, ClinicChanged

pytestmark = pytest.mark.contract

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("event", CATALOGUE, ids=lambda e: e.routing_key())
def test_every_event_has_a_committed_schema_the_model_is_compatible_with(event: Any) -> None:
    committed = contracts.committed_schemas()
    assert event.routing_key() in committed, f"run `clinic-ops contracts write` and commit {event.routing_key()}.json"
    problems = contracts.incompatibilities(committed[event.routing_key()], contracts.schema_of(event))
    assert problems == [], "incompatible change; publish a new version instead:\n" + "\n".join(problems)


def test_no_committed_schema_is_left_without_a_model() -> None:
    assert set(contracts.committed_schemas()) == {event.routing_key() for event in CATALOGUE}


def test_routing_keys_are_versioned_types() -> None:
    for event in CATALOGUE:
        assert event.routing_key() == f"{event.event_type}.v{event.version}"
        assert event.event_type.split(".")[0] in {"booking", "inventory", "notifications"}


@pytest.fixture
def schema() -> dict[str, Any]:
    return contracts.schema_of(ClinicChanged)


def _payload(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["$defs"]["ClinicChanged"]  # type: ignore[no-any-return]


@pytest.mark.unit
def test_an_added_optional_field_is_compatible(schema: dict[str, Any]) -> None:
    new = copy.deepcopy(schema)
    _payload(new)["properties"]["website"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert contracts.incompatibilities(schema, new) == []


@pytest.mark.unit
def test_a_removed_field_is_incompatible(schema: dict[str, Any]) -> None:
    new = copy.deepcopy(schema)
    del _payload(new)["properties"]["phone"]
    _payload(new)["required"].remove("phone")
    assert contracts.incompatibilities(schema, new) == ["$.payload.phone: field removed or renamed"]


@pytest.mark.unit
def test_a_renamed_field_is_incompatible(schema: dict[str, Any]) -> None:
    new = copy.deepcopy(schema)
    payload = _payload(new)
    payload["properties"]["telephone"] = payload["properties"].pop("phone")
    payload["required"] = [("telephone" if f == "phone" else f) for f in payload["required"]]
    problems = contracts.incompatibilities(schema, new)
    assert "$.payload.phone: field removed or renamed" in problems
    assert "$.payload.telephone: new required field" in problems


@pytest.mark.unit
def test_a_changed_type_is_incompatible(schema: dict[str, Any]) -> None:
    new = copy.deepcopy(schema)
    _payload(new)["properties"]["revision"] = {"type": "string"}
    assert contracts.incompatibilities(schema, new) == ["$.payload.revision: type changed from integer to string"]


@pytest.mark.unit
def test_a_field_becoming_nullable_is_incompatible(schema: dict[str, Any]) -> None:
    new = copy.deepcopy(schema)
    _payload(new)["properties"]["phone"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert contracts.incompatibilities(schema, new) != []


@pytest.mark.unit
def test_a_new_required_field_is_incompatible(schema: dict[str, Any]) -> None:
    new = copy.deepcopy(schema)
    _payload(new)["properties"]["website"] = {"type": "string"}
    _payload(new)["required"].append("website")
    assert contracts.incompatibilities(schema, new) == ["$.payload.website: new required field"]


@pytest.mark.unit
def test_a_change_inside_a_nested_object_is_found(schema: dict[str, Any]) -> None:
    new = copy.deepcopy(schema)
    del new["$defs"]["Address"]["properties"]["city"]
    assert contracts.incompatibilities(schema, new) == ["$.payload.address.city: field removed or renamed"]


@pytest.mark.unit
def test_a_narrower_bound_is_incompatible_and_a_looser_one_is_not(schema: dict[str, Any]) -> None:
    narrower, looser = copy.deepcopy(schema), copy.deepcopy(schema)
    narrower["$defs"]["Address"]["properties"]["city"]["maxLength"] = 50
    looser["$defs"]["Address"]["properties"]["city"]["maxLength"] = 200
    assert contracts.incompatibilities(schema, narrower) == ["$.payload.address.city: maxLength lowered to 50"]
    assert contracts.incompatibilities(schema, looser) == []


@pytest.mark.unit
def test_a_new_enum_value_is_incompatible() -> None:
    old = {"type": "object", "properties": {"reason": {"enum": ["a", "b"], "type": "string"}}, "required": ["reason"]}
    new = json.loads(json.dumps(old))
    new["properties"]["reason"]["enum"].append("c")
    assert contracts.incompatibilities(old, new) != []


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=REPO).stdout


def _versions(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(label, schema) for every committed version of `path`, oldest first, then the working copy."""
    relative = path.relative_to(REPO).as_posix()
    commits = _git("log", "--format=%H", "--follow", "--", relative).split()
    versions = [(c[:8], json.loads(_git("show", f"{c}:{relative}"))) for c in reversed(commits)]
    return [*versions, ("working copy", json.loads(path.read_text()))]


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs the git history")
@pytest.mark.parametrize("path", sorted(contracts.SCHEMA_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_no_committed_schema_ever_changed_incompatibly(path: Path) -> None:
    versions = _versions(path)
    for (old_label, old), (new_label, new) in pairwise(versions):
        problems = contracts.incompatibilities(old, new)
        assert problems == [], f"{path.name} {old_label} -> {new_label}:\n" + "\n".join(problems)
