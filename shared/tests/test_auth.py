from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from uuid import uuid4

import jwt
import pytest

from clinic_shared.auth import (
    IdentityProviderUnavailable,
    NotAuthenticated,
    Principal,
    Role,
    TokenVerifier,
    generate_keypair,
    jwks_document,
    mint_token,
)

KEYS = generate_keypair()
OTHER_KEYS = generate_keypair()
ISSUER, AUDIENCE = "clinic-dev-issuer", "clinic-platform"


def _token(private_key: str = KEYS[0], **overrides: object) -> str:
    options: dict[str, object] = {"subject": "u1", "role": Role.CLINIC_MANAGER, "issuer": ISSUER, "audience": AUDIENCE}
    options.update(overrides)
    return mint_token(private_key, **options)  # type: ignore[arg-type]


def _verifier(**overrides: object) -> TokenVerifier:
    options: dict[str, object] = {"public_key": KEYS[1], "jwks_url": None, "issuer": ISSUER, "audience": AUDIENCE}
    options.update(overrides)
    return TokenVerifier(**options)  # type: ignore[arg-type]


@pytest.mark.unit
async def test_a_valid_token_gives_the_principal_with_its_role_and_clinics() -> None:
    clinic = uuid4()
    principal = await _verifier().verify(_token(clinic_ids=[clinic]))
    assert principal == Principal(subject="u1", role=Role.CLINIC_MANAGER, clinic_ids=frozenset({clinic}))
    assert principal.works_at(clinic)
    assert not principal.works_at(uuid4())


@pytest.mark.unit
@pytest.mark.parametrize(
    ("token", "why"),
    [
        (lambda: _token(private_key=OTHER_KEYS[0]), "signed by another key"),
        (lambda: _token(issuer="someone-else"), "wrong issuer"),
        (lambda: _token(audience="another-app"), "wrong audience"),
        (lambda: _token(ttl=timedelta(seconds=-5)), "expired"),
        (lambda: "not.a.jwt", "garbage"),
    ],
)
async def test_a_bad_token_is_refused(token, why: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotAuthenticated):
        await _verifier().verify(token())


@pytest.mark.unit
async def test_an_unknown_role_is_refused() -> None:
    forged = jwt.encode(
        {"sub": "u", "role": "superuser", "iss": ISSUER, "aud": AUDIENCE, "exp": 4102444800}, KEYS[0], algorithm="RS256"
    )
    with pytest.raises(NotAuthenticated):
        await _verifier().verify(forged)


@pytest.mark.unit
async def test_without_a_configured_key_every_token_is_refused() -> None:
    with pytest.raises(NotAuthenticated, match="not configured"):
        await _verifier(public_key=None).verify(_token())


@pytest.fixture
def jwks_url() -> Iterator[str]:
    document = json.dumps(jwks_document(KEYS[1])).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()


@pytest.mark.integration
async def test_tokens_are_verified_against_the_issuers_jwks(jwks_url: str) -> None:
    verifier = _verifier(public_key=None, jwks_url=jwks_url)
    assert (await verifier.verify(_token())).role is Role.CLINIC_MANAGER
    with pytest.raises(NotAuthenticated):
        await verifier.verify(_token(private_key=OTHER_KEYS[0]))


@pytest.mark.integration
async def test_an_unreachable_identity_provider_is_not_mistaken_for_a_bad_token() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    verifier = _verifier(public_key=None, jwks_url=f"http://127.0.0.1:{closed_port}/jwks.json")
    with pytest.raises(IdentityProviderUnavailable):
        await verifier.verify(_token())
