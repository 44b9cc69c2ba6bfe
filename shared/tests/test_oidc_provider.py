"""The development OpenID provider (deploy/oidc) signs staff in as a browser would, and the APIs accept
its access tokens: the real provider in Node, the real authorization code flow with PKCE, the real
verifier, and booking's API deciding on a clinic."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs
from uuid import UUID, uuid4

import httpx
import jwt
import pytest
from click.testing import CliRunner

from clinic_shared import cli
from clinic_shared.auth import NotAuthenticated, Principal, Role, TokenVerifier, generate_keypair, mint_token
from clinic_shared.runtime import discover_services
from clinic_shared.testing import oidc
from clinic_shared.testing.plugin import TestEnvironment
from clinic_shared.testing.processes import free_port

AUDIENCE = "clinic-platform"
# Nothing listens here: the flow ends when the provider sends the browser to it.
REDIRECT_URI = "http://127.0.0.1:9/staff/signed-in"
CLIENT = oidc.Client(client_id="clinic-web", client_secret=secrets.token_urlsafe(24), redirect_uris=(REDIRECT_URI,))
WEEKDAY = [{"opens": "09:00", "closes": "17:00"}]


@dataclass(frozen=True)
class Clinics:
    """Two clinics in booking's database: the demo manager works at `own` and not at `other`."""

    own: UUID
    other: UUID


@pytest.fixture(scope="module")
async def clinics(test_env: TestEnvironment, service_databases: dict[str, str]) -> Clinics:
    """Opened through booking's API before the provider starts: the demo staff file names them."""
    booking = discover_services()["booking"]
    app = booking.api(test_env.settings(booking))
    ids = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://booking.test") as http:
        for name in ("Own", "Other"):
            body = {
                "name": f"{name} clinic {uuid4().hex[:8]}",
                "address": {"line1": "Herengracht 1", "city": "Amsterdam", "postal_code": "1015 BS", "country": "NL"},
                "timezone": "Europe/Amsterdam",
                "phone": "+31 20 555 0100",
                "opening_hours": {"monday": WEEKDAY, "tuesday": WEEKDAY},
            }
            response = await http.post("/clinics", json=body, headers=test_env.auth_header(Role.ADMIN))
            assert response.status_code == 201, response.text
            ids.append(UUID(response.json()["id"]))
    await app.state.engine.dispose()
    return Clinics(own=ids[0], other=ids[1])


@pytest.fixture(scope="module")
def staff(clinics: Clinics) -> dict[str, oidc.StaffMember]:
    members = [
        oidc.StaffMember(
            login="maria", sub=str(uuid4()), name="Maria", role=Role.CLINIC_MANAGER, clinics=(clinics.own,)
        ),
        oidc.StaffMember(
            login="tom", sub=str(uuid4()), name="Tom", role=Role.FRONT_DESK, clinics=(clinics.own, clinics.other)
        ),
    ]
    return {member.login: member for member in members}


@pytest.fixture(scope="module")
def signing_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "jwt-private.pem"
    path.write_text(generate_keypair()[0])
    return path


@pytest.fixture(scope="module")
def provider(
    tmp_path_factory: pytest.TempPathFactory, signing_key_file: Path, staff: dict[str, oidc.StaffMember]
) -> Iterator[oidc.OidcProvider]:
    directory = tmp_path_factory.mktemp("oidc")
    try:
        running = oidc.start(
            port=free_port(),
            signing_key_file=signing_key_file,
            staff_file=oidc.write_staff(directory / "staff.json", staff.values()),
            client=CLIENT,
            log=directory / "oidc.log",
        )
    except oidc.ProviderUnavailable as unavailable:
        pytest.fail(str(unavailable), pytrace=False)
    yield running
    assert oidc.stop(running) == 0, f"the provider did not stop cleanly on SIGTERM:\n{running.log_tail()}"


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """A cookie jar that follows no redirects by itself, so each step of the flow is seen."""
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


def verifier_for(provider: oidc.OidcProvider, *, audience: str = AUDIENCE) -> TokenVerifier:
    return TokenVerifier(public_key=None, jwks_url=provider.jwks_url, issuer=provider.issuer, audience=audience)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class Form(HTMLParser):
    """A page's form as a browser submits it: its action and its inputs' names and values."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.action = attributes.get("action")
        elif tag == "input" and attributes.get("name"):
            self.fields[str(attributes["name"])] = attributes.get("value") or ""


async def sign_in(
    browser: httpx.AsyncClient, provider: oidc.OidcProvider, *, login: str, challenge: str | None, **extra: str
) -> dict[str, list[str]]:
    """The browser's way from the authorization request to the client's redirect URI: the development
    login form filled in once, every redirect followed. The query the client receives."""
    params = {
        "client_id": CLIENT.client_id,
        "response_type": "code",
        "scope": "openid profile",
        "redirect_uri": REDIRECT_URI,
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        **({"code_challenge": challenge, "code_challenge_method": "S256"} if challenge else {}),
        **extra,
    }
    response = await browser.get(provider.authorization_endpoint, params=params)
    signed_in = False
    while True:
        if response.is_redirect:
            location = response.url.join(response.headers["location"])
            if str(location).startswith(REDIRECT_URI):
                query = parse_qs(location.query.decode())
                assert query.get("state") == [params["state"]], query
                return query
            response = await browser.get(location)
            continue
        # Our only client is the platform's own staff app: after the login there is no consent screen.
        assert not signed_in, f"another page after the login form ({response.status_code}):\n{response.text[:500]}"
        assert response.status_code == 200, response.text[:500]
        form = Form(response.text)
        assert form.action, f"no form on the page:\n{response.text[:500]}"
        assert form.fields.get("prompt") == "login", f"not the login form:\n{response.text[:500]}"
        response = await browser.post(
            response.url.join(form.action), data={**form.fields, "login": login, "password": "any password"}
        )
        signed_in = True


async def exchange(browser: httpx.AsyncClient, provider: oidc.OidcProvider, code: str, verifier: str) -> httpx.Response:
    """The client's token request, authenticated with client_secret_basic."""
    return await browser.post(
        provider.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(CLIENT.client_id, CLIENT.client_secret),
    )


async def tokens_for(browser: httpx.AsyncClient, provider: oidc.OidcProvider, login: str) -> dict[str, str]:
    verifier, challenge = pkce_pair()
    query = await sign_in(browser, provider, login=login, challenge=challenge)
    assert "code" in query, query
    response = await exchange(browser, provider, query["code"][0], verifier)
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


@pytest.mark.integration
@pytest.mark.parametrize("login", ["maria", "tom"])
async def test_staff_sign_in_with_pkce_gives_an_access_token_the_apis_accept(
    browser: httpx.AsyncClient, provider: oidc.OidcProvider, staff: dict[str, oidc.StaffMember], login: str
) -> None:
    member = staff[login]
    tokens = await tokens_for(browser, provider, login)

    principal = await verifier_for(provider).verify(tokens["access_token"])
    assert principal == Principal(subject=member.sub, role=member.role, clinic_ids=frozenset(member.clinics))
    assert jwt.get_unverified_header(tokens["access_token"])["typ"] == "at+jwt"
    assert "refresh_token" not in tokens
    # The staff app learns who signed in from the ID token, signed with the same key.
    signing_key = jwt.PyJWKClient(provider.jwks_url).get_signing_key_from_jwt(tokens["id_token"]).key
    identity = jwt.decode(
        tokens["id_token"], signing_key, algorithms=["RS256"], audience=CLIENT.client_id, issuer=provider.issuer
    )
    assert (identity["sub"], identity["name"], identity["role"]) == (member.sub, member.name, member.role.value)
    assert identity["clinics"] == [str(clinic) for clinic in member.clinics]


@pytest.mark.integration
async def test_an_unknown_login_gets_no_code(browser: httpx.AsyncClient, provider: oidc.OidcProvider) -> None:
    _, challenge = pkce_pair()
    query = await sign_in(browser, provider, login="mallory", challenge=challenge)
    assert "code" not in query
    assert query["error"] == ["access_denied"]


@pytest.mark.integration
async def test_a_token_for_another_audience_is_refused(browser: httpx.AsyncClient, provider: oidc.OidcProvider) -> None:
    tokens = await tokens_for(browser, provider, "maria")
    # The ID token is the staff app's (its audience is the client id), never a key to the APIs.
    with pytest.raises(NotAuthenticated):
        await verifier_for(provider).verify(tokens["id_token"])
    with pytest.raises(NotAuthenticated):
        await verifier_for(provider, audience="clinic-billing").verify(tokens["access_token"])


@pytest.mark.integration
async def test_the_provider_issues_tokens_for_no_other_resource(
    browser: httpx.AsyncClient, provider: oidc.OidcProvider
) -> None:
    _, challenge = pkce_pair()
    query = await sign_in(browser, provider, login="maria", challenge=challenge, resource="https://billing.example/")
    assert "code" not in query
    assert query["error"] == ["invalid_target"]


@pytest.mark.integration
async def test_a_wrong_pkce_verifier_is_refused(browser: httpx.AsyncClient, provider: oidc.OidcProvider) -> None:
    verifier, challenge = pkce_pair()
    code = (await sign_in(browser, provider, login="maria", challenge=challenge))["code"][0]
    refused = await exchange(browser, provider, code, pkce_pair()[0])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    # The code itself was good: only the one who asked for it can redeem it.
    assert (await exchange(browser, provider, code, verifier)).status_code == 200


@pytest.mark.integration
async def test_an_authorization_request_without_pkce_is_refused(
    browser: httpx.AsyncClient, provider: oidc.OidcProvider
) -> None:
    query = await sign_in(browser, provider, login="maria", challenge=None)
    assert "code" not in query
    assert query["error"] == ["invalid_request"]


@pytest.mark.integration
async def test_a_token_minted_by_clinic_ops_for_the_providers_issuer_verifies_against_its_jwks(
    provider: oidc.OidcProvider, signing_key_file: Path, clinics: Clinics
) -> None:
    def mint(*issuer: str) -> str:
        arguments = ["token", "mint", "--role", "clinic_manager", "--clinic", str(clinics.own), "--subject", "ops"]
        result = CliRunner().invoke(cli.main, [*arguments, "--private-key-file", str(signing_key_file), *issuer])
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    principal = await verifier_for(provider).verify(mint("--issuer", provider.issuer))
    assert principal == Principal(subject="ops", role=Role.CLINIC_MANAGER, clinic_ids=frozenset({clinics.own}))
    # The same key under the built-in issuer's name is not the provider's token.
    with pytest.raises(NotAuthenticated):
        await verifier_for(provider).verify(mint())


@pytest.mark.integration
async def test_booking_answers_the_providers_manager_token_for_its_own_clinic_only(
    browser: httpx.AsyncClient, provider: oidc.OidcProvider, test_env: TestEnvironment, clinics: Clinics
) -> None:
    booking = discover_services()["booking"]
    settings = test_env.settings(booking, jwks_url=provider.jwks_url, jwt_issuer=provider.issuer, jwt_public_key=None)
    app = booking.api(settings)
    token = (await tokens_for(browser, provider, "maria"))["access_token"]
    staff_member = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://booking.test") as api:
            own = await api.get(f"/clinics/{clinics.own}/rooms", headers=staff_member)
            other = await api.get(f"/clinics/{clinics.other}/rooms", headers=staff_member)
            # The built-in issuer's tokens are not trusted while the APIs trust the provider.
            built_in = await api.get(f"/clinics/{clinics.own}/rooms", headers=test_env.auth_header(Role.ADMIN))
    finally:
        await app.state.engine.dispose()
    assert own.status_code == 200, own.text
    assert other.status_code == 403, other.text
    assert built_in.status_code == 401, built_in.text


@pytest.mark.unit
async def test_a_providers_own_claim_names_are_read() -> None:
    private_key, public_key = generate_keypair()
    clinic = uuid4()
    claims = {
        "sub": "u1",
        "https://chain.example/role": "front_desk",
        "https://chain.example/clinics": [str(clinic)],
        "iss": "https://id.chain.example",
        "aud": AUDIENCE,
        "exp": 4102444800,
    }
    verifier = TokenVerifier(
        public_key=public_key,
        jwks_url=None,
        issuer="https://id.chain.example",
        audience=AUDIENCE,
        role_claim="https://chain.example/role",
        clinics_claim="https://chain.example/clinics",
    )
    principal = await verifier.verify(jwt.encode(claims, private_key, algorithm="RS256"))
    assert principal == Principal(subject="u1", role=Role.FRONT_DESK, clinic_ids=frozenset({clinic}))
    # Told to read the chain's names, it does not fall back to ours.
    ours = mint_token(private_key, subject="u1", role=Role.ADMIN, issuer="https://id.chain.example", audience=AUDIENCE)
    with pytest.raises(NotAuthenticated):
        await verifier.verify(ours)
