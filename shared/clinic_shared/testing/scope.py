"""Tenancy as a class of tests: every route that takes a clinic's, a patient's or an appointment's id (or
a course's, a waitlist entry's or a practitioner's) refuses staff of another clinic with 403, whatever the body.

The routes are read off the application's OpenAPI document, so a new route is covered the day it is
added; a route that is public on purpose is named as such by the service's test. Each request carries
a body that fails validation (`{}`), so a route that reads or checks the body before it checks the
caller answers 422 and is caught too."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

import httpx
from fastapi import FastAPI

SCOPED = ("clinic_id", "patient_id", "appointment_id", "course_id", "entry_id", "practitioner_id")
_PARAMETER = re.compile(r"\{(\w+)\}")


def scoped_routes(app: FastAPI, *, public: Collection[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """(method, path) of every route whose path names one of SCOPED, less those that are public."""
    paths = app.openapi()["paths"]
    routes = sorted(
        (method.upper(), path)
        for path, methods in paths.items()
        if any(f"{{{name}}}" in path for name in SCOPED)
        for method in methods
    )
    stale = set(public) - set(routes)
    assert not stale, f"declared public but not served (renamed or removed?): {sorted(stale)}"
    return [route for route in routes if route not in public]


async def let_through(
    client: httpx.AsyncClient,
    routes: list[tuple[str, str]],
    *,
    ids: Mapping[str, str],
    callers: Mapping[str, Mapping[str, str]],
) -> list[tuple[str, str, str, int]]:
    """(caller, method, path, status) of every call that was not refused with 403. `ids` fills the
    path's parameters with real ids of the clinic under test and its records; `callers` are the
    headers of outsiders (staff of another clinic, in several roles)."""
    found = []
    for method, path in routes:
        missing = [name for name in _PARAMETER.findall(path) if name not in ids]
        assert not missing, f"{method} {path}: give the test an id for {missing}"
        url = _PARAMETER.sub(lambda match: ids[match.group(1)], path)
        for name, headers in callers.items():
            answer = await client.request(method, url, json={}, headers=dict(headers))
            if answer.status_code != 403:
                found.append((name, method, path, answer.status_code))
    return found
