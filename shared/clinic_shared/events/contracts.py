"""JSON Schemas of the event catalogue, committed beside this module, and the compatibility rule.

A committed schema is a promise to every consumer. A change to the models is compatible when it
only adds optional fields (or loosens a bound); removing or renaming a field, changing a field's
type (including nullability or an enum's values), adding a required field, making a required one
optional, or narrowing a bound or pattern is not: that needs a new event version (`...v2`)
published beside the old one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clinic_shared.events.catalogue import CATALOGUE
from clinic_shared.events.envelope import Envelope, Event

SCHEMA_DIR = Path(__file__).parent / "schemas"

Schema = dict[str, Any]


def schema_of(event: type[Event]) -> Schema:
    envelope = Envelope[event]  # type: ignore[valid-type]
    schema = envelope.model_json_schema(mode="validation")
    schema["title"] = event.routing_key()
    schema["$id"] = f"urn:clinic:event:{event.routing_key()}"
    return schema


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def current_schemas() -> dict[str, Schema]:
    return {event.routing_key(): schema_of(event) for event in CATALOGUE}


def committed_schemas(directory: Path = SCHEMA_DIR) -> dict[str, Schema]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for routing_key, schema in current_schemas().items():
        path = directory / f"{routing_key}.json"
        text = render(schema)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def incompatibilities(old: Schema, new: Schema) -> list[str]:
    """What in `new` breaks a consumer or a stored message built against `old`; empty when compatible."""
    return list(_compare(old, old, new, new, path="$"))


def _resolve(node: Schema, document: Schema) -> Schema:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = document["$defs"][name]
    return node


def _alternatives(node: Schema, document: Schema) -> list[Schema]:
    node = _resolve(node, document)
    if "anyOf" in node:
        return [alt for option in node["anyOf"] for alt in _alternatives(option, document)]
    return [node]


def _shape(node: Schema) -> str:
    if "const" in node:
        return f"const:{json.dumps(node['const'])}"
    if "enum" in node:
        return "enum:" + ",".join(sorted(json.dumps(value) for value in node["enum"]))
    kind = node.get("type", "any")
    if kind == "string" and "format" in node:
        return f"string:{node['format']}"
    return str(kind)


def _compare(old: Schema, old_doc: Schema, new: Schema, new_doc: Schema, *, path: str) -> Iterator[str]:
    old_alts = _alternatives(old, old_doc)
    new_alts = _alternatives(new, new_doc)
    old_shapes = sorted(_shape(alt) for alt in old_alts)
    new_shapes = sorted(_shape(alt) for alt in new_alts)
    if old_shapes != new_shapes:
        yield f"{path}: type changed from {' | '.join(old_shapes)} to {' | '.join(new_shapes)}"
        return
    for old_alt in old_alts:
        new_alt = next(alt for alt in new_alts if _shape(alt) == _shape(old_alt))
        yield from _tightened(old_alt, new_alt, path=path)
        if old_alt.get("type") == "object":
            yield from _compare_object(old_alt, old_doc, new_alt, new_doc, path=path)
        elif old_alt.get("type") == "array" and "items" in old_alt and "items" in new_alt:
            yield from _compare(old_alt["items"], old_doc, new_alt["items"], new_doc, path=f"{path}[]")


_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems")
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems")


def _tightened(old: Schema, new: Schema, *, path: str) -> Iterator[str]:
    """A narrower value range: stored or in-flight messages valid before may now be refused."""
    for bound in _LOWER_BOUNDS:
        if bound in new and (bound not in old or new[bound] > old[bound]):
            yield f"{path}: {bound} raised to {new[bound]}"
    for bound in _UPPER_BOUNDS:
        if bound in new and (bound not in old or new[bound] < old[bound]):
            yield f"{path}: {bound} lowered to {new[bound]}"
    if "pattern" in new and new.get("pattern") != old.get("pattern"):
        yield f"{path}: pattern changed to {new['pattern']}"


def _compare_object(old: Schema, old_doc: Schema, new: Schema, new_doc: Schema, *, path: str) -> Iterator[str]:
    old_props: Schema = old.get("properties", {})
    new_props: Schema = new.get("properties", {})
    old_required = set(old.get("required", []))
    new_required = set(new.get("required", []))
    for name, old_prop in old_props.items():
        if name not in new_props:
            yield f"{path}.{name}: field removed or renamed"
            continue
        yield from _compare(old_prop, old_doc, new_props[name], new_doc, path=f"{path}.{name}")
    for name in sorted(new_required - old_required):
        yield f"{path}.{name}: new required field"
    for name in sorted((old_required - new_required) & set(new_props)):
        yield f"{path}.{name}: no longer required"
