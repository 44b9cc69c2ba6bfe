"""Staff sign-in with the chain's OpenID provider: the authorization code flow with PKCE (S256), through
Authlib. The session is server-side and starts afresh at sign-in (a new id), so nothing from before
sign-in carries over; it ends at sign-out, after its idle time, or at its absolute limit."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Request
from fastapi.responses import Response

from clinic_shared.logging import get_logger
from web.pages.common import CSRF, ApisDep, SessionDep, SettingsDep, Visitor
from web.pages.rendering import redirect, render
from web.service import staff as service
from web.settings import WebSettings

log = get_logger(__name__)
router = APIRouter(prefix="/staff", include_in_schema=False)


def provider(settings: WebSettings) -> OAuth:
    oauth = OAuth()
    oauth.register(
        "staff",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile", "code_challenge_method": "S256", "timeout": settings.api_timeout_s},
    )
    return oauth


def _client(request: Request) -> Any:
    return request.app.state.oauth.staff


@router.get("")
async def home(request: Request, session: SessionDep, apis: ApisDep, visitor: Visitor) -> Response:
    member = service.signed_in(session)
    if member is None:
        ended = request.query_params.get("ended") or ("expired" if session.lapsed else None)
        return render(request, "staff/sign_in.html", {"ended": ended})
    clinics = await service.clinics_of(apis, member, visitor=visitor)
    return render(request, "staff/home.html", {"member": member, "clinics": clinics,
                                               "abilities": service.abilities(member.role)})  # fmt: skip


@router.get("/sign-in")
async def sign_in(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    target = request.query_params.get("next", "")
    if target.startswith("/staff/") and "//" not in target:  # back where they were going; only ours
        session["next"] = target
    redirect_uri = f"{settings.public_url.rstrip('/')}/staff/callback"
    response: Response = await _client(request).authorize_redirect(request, redirect_uri)
    return response


@router.get("/callback")
async def callback(request: Request, session: SessionDep) -> Response:
    try:
        token = await _client(request).authorize_access_token(request)
    except OAuthError as error:
        log.warning("staff_sign_in_failed", reason=error.error)
        return render(request, "staff/sign_in.html", {"ended": None, "failed": True}, status=400)
    member = service.member_of(token)
    target = session.get("next") or "/staff"
    session.begin("staff", member=member.stored(), access_token=token["access_token"],
                  id_token=token.get("id_token"))  # fmt: skip
    log.info("staff_signed_in", role=member.role)
    return redirect(request, target)


@router.get("/clinics/{clinic_id}/stock")
async def stock(request: Request, clinic_id: UUID, session: SessionDep, apis: ApisDep, visitor: Visitor) -> Response:
    """The clinic's stock by lot (the link in managers' supply alerts)."""
    member = service.signed_in(session)
    if member is None:
        return redirect(request, f"/staff/sign-in?next=/staff/clinics/{clinic_id}/stock")
    found = await service.stock(apis, clinic_id, token=str(session["access_token"]), visitor=visitor)
    return render(request, "staff/stock.html", {"member": member, "stock": found})


@router.post("/sign-out", dependencies=[CSRF])
async def sign_out(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Ends our session, then the provider's (RP-initiated logout): on a shared front-desk computer the
    next person to press "Sign in" must not find the last one still signed in at the provider."""
    id_token = session.get("id_token")
    session.end()
    metadata = await _client(request).load_server_metadata()
    ending = metadata.get("end_session_endpoint")
    if not ending or not id_token:
        return redirect(request, "/staff/signed-out")
    query = urlencode({"id_token_hint": id_token, "client_id": settings.oidc_client_id,
                       "post_logout_redirect_uri": f"{settings.public_url.rstrip('/')}/staff/signed-out"})  # fmt: skip
    return redirect(request, f"{ending}?{query}")


@router.get("/signed-out")
async def signed_out(request: Request) -> Response:
    return render(request, "staff/sign_in.html", {"ended": "signed_out"})
