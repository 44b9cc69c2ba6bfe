"""What a visitor sees when something goes wrong: always one of our pages, in their language, with a
way on, never JSON or a stack trace. A link that no longer works names the clinic's phone number."""

from __future__ import annotations

from uuid import UUID

import jwt
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from clinic_shared.auth import Forbidden
from clinic_shared.logging import get_logger
from web.clients import ApiUnavailable
from web.pages.rendering import gettext, render
from web.service import booking_flow as flow
from web.service.staff import NotYourClinic
from web.service.visits import LinkRefused
from web.service.waitlist import EntryLinkRefused
from web.sessions import link_token, session_of

log = get_logger(__name__)


async def _link_refused(request: Request, error: Exception) -> Response:
    """The clinic to call, from the link's own (unverified) claims when it names one; else every clinic."""
    clinic_id = _clinic_named_by_link(request)
    clinics = []
    try:
        if clinic_id is not None:
            clinics = [await flow.clinic(request.app.state.apis, clinic_id, visitor=None)]
        else:
            clinics = await flow.clinics(request.app.state.apis, visitor=None)
    except (ApiUnavailable, flow.ClinicNotFound):
        log.warning("link_page_without_clinics")
    return render(request, "errors/link.html", {"clinics": clinics}, status=403)


def _clinic_named_by_link(request: Request) -> UUID | None:
    appointment_id = request.path_params.get("appointment_id")
    token = link_token(session_of(request), "visits", appointment_id) if appointment_id else None
    if not token:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})  # only to name a public phone number
    except jwt.PyJWTError:
        return None
    try:
        return UUID(str(claims["clinic"])) if claims.get("clinic") else None
    except ValueError:
        return None


async def _not_your_clinic(request: Request, error: Exception) -> Response:
    _ = gettext(request)
    return render(request, "errors/status.html", {
        "title": _("Not one of your clinics"), "message": _("Your account does not work for this clinic."),
    }, status=403)  # fmt: skip


async def _unavailable(request: Request, error: Exception) -> Response:
    return render(request, "errors/unavailable.html", status=503)


async def _forbidden(request: Request, error: Exception) -> Response:
    _ = gettext(request)
    return render(request, "errors/status.html", {
        "title": _("This form has expired"),
        "message": _(
            "For your safety, forms work for a limited time. Please open the page again and repeat the last step."
        ),
    }, status=403)  # fmt: skip


async def _not_found(request: Request, error: Exception) -> Response:
    _ = gettext(request)
    return render(request, "errors/status.html", {
        "title": _("Page not found"), "message": _("There is no page at this address."),
    }, status=404)  # fmt: skip


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 404:
        return await _not_found(request, error)
    _ = gettext(request)
    return render(request, "errors/status.html", {
        "title": _("This did not work"), "message": _("Please go back and try again."),
    }, status=error.status_code)  # fmt: skip


async def _bad_form(request: Request, error: Exception) -> Response:
    _ = gettext(request)
    return render(request, "errors/status.html", {
        "title": _("Please start again"),
        "message": _("Something in this step was missing or not as expected. Please start from the clinic's page."),
    }, status=422)  # fmt: skip


def install_page_errors(app: FastAPI) -> None:
    """Replace the JSON error answers of the shared app with pages."""
    app.add_exception_handler(LinkRefused, _link_refused)
    app.add_exception_handler(EntryLinkRefused, _link_refused)
    app.add_exception_handler(ApiUnavailable, _unavailable)
    app.add_exception_handler(NotYourClinic, _not_your_clinic)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(flow.ClinicNotFound, _not_found)
    app.add_exception_handler(flow.ChoiceInvalid, _bad_form)
    app.add_exception_handler(RequestValidationError, _bad_form)
    app.add_exception_handler(StarletteHTTPException, _http_error)
