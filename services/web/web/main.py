"""Composition root: the pages patients and staff use. Nothing runs at import.

The web service is a client of the three APIs over HTTP and holds only sessions in its own database.
It has no worker: nothing it does waits for an event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from clinic_shared.runtime import ServiceDefinition
from clinic_shared.settings import ServiceSettings
from web.clients import Apis
from web.pages import book, manage, staff, waitlist
from web.pages.errors import install_page_errors
from web.pages.rendering import STATIC
from web.sessions import SessionMiddleware
from web.settings import WebSettings


def add_pages(app: FastAPI, settings: ServiceSettings) -> None:
    """What the web service adds to the shared app: sessions, the pages, their error pages, and the
    static files (the gateway serves those itself; this is for a visit without the gateway)."""
    assert isinstance(settings, WebSettings)
    app.state.apis = Apis.of(settings)
    app.state.oauth = staff.provider(settings)
    app.add_middleware(
        SessionMiddleware,
        limits={
            "patient": (
                timedelta(minutes=settings.patient_idle_minutes), timedelta(hours=settings.patient_absolute_hours)
            ),
            "staff": (timedelta(minutes=settings.staff_idle_minutes), timedelta(hours=settings.staff_absolute_hours)),
        },
        secure=settings.secure_cookies,
    )  # fmt: skip
    install_page_errors(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


@asynccontextmanager
async def api_clients(app: FastAPI) -> AsyncIterator[None]:
    """The connections to the APIs (made with the app) are closed with it."""
    try:
        yield
    finally:
        await app.state.apis.close()


SERVICE = ServiceDefinition(
    name="web",
    title="Clinic pages",
    description="The pages patients, front desk, practitioners and managers use; a client of the three APIs.",
    settings_class=WebSettings,
    root=Path(__file__).resolve().parents[1],
    routers=(book.router, manage.router, waitlist.router, staff.router),
    extend_api=add_pages,
    resources=api_clients,
    has_worker=False,
    outbox=False,
    api_docs=False,
)


def create_app(settings: WebSettings) -> FastAPI:
    return SERVICE.api(settings)
