"""The day's free times page as a patient's browser reaches it through the gateway.

There is no GET for it: the page is the answer to the day picker's form, `POST /book/times`
(`services/web/web/pages/book.py`, `times`), which carries the patient's choice (clinic, treatment,
areas, no practitioner preference), the day, and the session's CSRF token; without JavaScript the
whole page comes back, with htmx only the `#step` block (`HX-Request`, `HX-Target: step`). A
visitor therefore first opens the clinic's page (`GET /clinics/{id}`), which starts a session and
puts the token in its form, as a browser does.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from datetime import date, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx

COOKIE = "clinic_session"  # web.sessions.COOKIE
PAGE_PATH = "/book/times"
FRAGMENT_TARGET = "step"  # the block the day picker's hx-target names
# Every answer that lists a day's free times has this radio button; an error page has not.
MARKER = 'name="starts_at"'
HEADERS = {"Accept-Language": "en"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_STARTS = re.compile(r'name="starts_at" value="([^"]+)"')


@dataclass(frozen=True)
class Choice:
    clinic_id: str
    treatment_id: str
    areas: tuple[str, ...]
    day: date

    def availability_path(self, last: date) -> str:
        """The booking API's own call for the days the page shows (what `flow.times` asks)."""
        query = [("from", str(self.day)), ("to", str(last)), ("treatment_id", self.treatment_id)]
        query += [("areas", area) for area in self.areas]
        return f"/clinics/{self.clinic_id}/availability?{urlencode(query)}"


@dataclass(frozen=True)
class Visitor:
    """A browser's session at the site: its cookie and the CSRF token its forms carry."""

    cookie: str  # the Cookie header value
    csrf: str

    def form(self, choice: Choice) -> str:
        """The day picker's form, as `book/times.html` posts it (hidden fields, then the day button)."""
        fields = [("csrf", self.csrf), ("clinic_id", choice.clinic_id), ("treatment_id", choice.treatment_id)]
        fields += [("areas", area) for area in choice.areas]
        fields.append(("day", str(choice.day)))
        return urlencode(fields)

    def headers(self, *, fragment: bool) -> dict[str, str]:
        headers = {**HEADERS, "Cookie": self.cookie, "Content-Type": "application/x-www-form-urlencoded"}
        if fragment:
            headers |= {"HX-Request": "true", "HX-Target": FRAGMENT_TARGET}
        return headers


async def open_session(client: httpx.AsyncClient, clinic_id: str) -> tuple[Visitor, str]:
    """Open the clinic's page as a new visitor: the session cookie it sets and its form's CSRF token."""
    response = await client.get(f"/clinics/{clinic_id}", headers=HEADERS)
    if response.status_code != 200:
        raise RuntimeError(f"GET /clinics/{clinic_id} through the gateway: {response.status_code}")
    token = response.cookies.get(COOKIE)
    found = _CSRF.search(response.text)
    if not token or not found:
        raise RuntimeError("the clinic's page set no session cookie or has no CSRF token in its form")
    return Visitor(cookie=f"{COOKIE}={token}", csrf=found.group(1)), response.text


async def fetch_page(client: httpx.AsyncClient, visitor: Visitor, choice: Choice, *, fragment: bool) -> httpx.Response:
    return await client.post(PAGE_PATH, content=visitor.form(choice), headers=visitor.headers(fragment=fragment))


def starts_shown(html: str) -> list[datetime]:
    """The free times a page offers (the radio buttons' values, UTC)."""
    return [datetime.fromisoformat(value) for value in _STARTS.findall(html)]


def starts_of_day(availability: dict[str, Any], day: date) -> list[datetime]:
    """The API's free starts on one local day of the clinic, as the page groups them."""
    zone = ZoneInfo(availability["timezone"])
    starts = (datetime.fromisoformat(slot["starts_at"]) for slot in availability["slots"])
    return [start for start in starts if start.astimezone(zone).date() == day]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (kind, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "link" and "stylesheet" in (attributes.get("rel") or "").split() and attributes.get("href"):
            self.found.append(("css", str(attributes["href"])))
        elif tag == "script" and attributes.get("src"):
            self.found.append(("js", str(attributes["src"])))


def assets(*pages: str) -> list[tuple[str, str]]:
    """Every stylesheet (`<link rel=stylesheet>`) and script (`<script src>`) the pages load, once each."""
    found: dict[str, str] = {}
    for html in pages:
        parser = _Assets()
        parser.feed(html)
        for kind, url in parser.found:
            found.setdefault(url, kind)
    return [(kind, url) for url, kind in found.items()]


async def transfer(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """One fetch with `Accept-Encoding: gzip`: the body's bytes as they came over the wire, and unpacked."""
    headers = {**kwargs.pop("headers", {}), "Accept-Encoding": "gzip"}
    async with client.stream(method, url, headers=headers, **kwargs) as response:
        wire = b"".join([chunk async for chunk in response.aiter_raw()])
    encoding = response.headers.get("content-encoding", "identity")
    body = gzip.decompress(wire) if encoding == "gzip" else wire
    return {
        "url": url,
        "status": response.status_code,
        "content_type": response.headers.get("content-type", ""),
        "content_encoding": encoding,
        "wire_bytes": len(wire),
        "uncompressed_bytes": len(body),
        "cache_control": response.headers.get("cache-control", ""),
    }


async def weight(client: httpx.AsyncClient, visitor: Visitor, choice: Choice, clinic_page: str) -> dict[str, Any]:
    """The CSS and JavaScript the booking pages load, fetched through the gateway as a browser would
    (gzip accepted), summed; the two HTML documents (the clinic's page and the day's times) beside them."""
    times_page = (await fetch_page(client, visitor, choice, fragment=False)).text
    files = [{"kind": kind, **await transfer(client, "GET", url)} for kind, url in assets(clinic_page, times_page)]
    documents = [
        {"kind": "html", **await transfer(client, "GET", f"/clinics/{choice.clinic_id}", headers=HEADERS)},
        {"kind": "html", **await transfer(client, "POST", PAGE_PATH, content=visitor.form(choice),
                                          headers=visitor.headers(fragment=False))},
    ]  # fmt: skip
    return {
        "files": files,
        "css_js_gzip_bytes": sum(f["wire_bytes"] for f in files),
        "css_js_uncompressed_bytes": sum(f["uncompressed_bytes"] for f in files),
        "all_gzip": all(f["content_encoding"] == "gzip" for f in files),
        "all_ok": all(f["status"] == 200 for f in files),
        "documents": documents,
    }
