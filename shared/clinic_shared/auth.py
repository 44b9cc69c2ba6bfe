"""Bearer JWTs verified against the issuer's keys (a configured PEM or a JWKS URL), so the built-in
development issuer can be swapped for a real OpenID Connect provider without touching a service.

Claims: `sub`, `role` (one of `Role`), `clinics` (clinic ids the principal works for) and, for
patient links, `appointments` (the only appointments the token may touch). The role and clinics
claims may go by other names in a chain's own provider: the verifier is told which.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clinic_shared.errors import DomainError

ALGORITHMS = ["RS256"]


class Role(StrEnum):
    PATIENT = "patient"
    PRACTITIONER = "practitioner"
    FRONT_DESK = "front_desk"
    CLINIC_MANAGER = "clinic_manager"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.PRACTITIONER, Role.FRONT_DESK, Role.CLINIC_MANAGER, Role.ADMIN})


class NotAuthenticated(DomainError):
    code = "not_authenticated"


class Forbidden(DomainError):
    code = "forbidden"


class IdentityProviderUnavailable(DomainError):
    """The issuer's keys could not be fetched: the caller's token may be fine, we cannot tell."""

    code = "identity_provider_unavailable"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    clinic_ids: frozenset[UUID]
    appointment_ids: frozenset[UUID] = frozenset()

    @property
    def works_at_every_clinic(self) -> bool:
        return self.role is Role.ADMIN

    def works_at(self, clinic_id: UUID) -> bool:
        return self.works_at_every_clinic or clinic_id in self.clinic_ids

    def ensure_clinic(self, clinic_id: UUID) -> None:
        if not self.works_at(clinic_id):
            raise Forbidden("this clinic is outside your scope", field="clinic_id")


class TokenVerifier:
    def __init__(
        self,
        *,
        public_key: str | None,
        jwks_url: str | None,
        issuer: str,
        audience: str,
        role_claim: str = "role",
        clinics_claim: str = "clinics",
    ) -> None:
        self._public_key = public_key
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self._issuer = issuer
        self._audience = audience
        self._role_claim = role_claim
        self._clinics_claim = clinics_claim

    async def verify(self, token: str) -> Principal:
        try:
            key = await self._key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "sub", self._role_claim]},
            )
            return Principal(
                subject=str(claims["sub"]),
                role=Role(claims[self._role_claim]),
                clinic_ids=frozenset(UUID(c) for c in claims.get(self._clinics_claim, [])),
                appointment_ids=frozenset(UUID(a) for a in claims.get("appointments", [])),
            )
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise NotAuthenticated(f"invalid token: {type(error).__name__}") from error

    async def _key_for(self, token: str) -> Any:
        if self._public_key:
            return self._public_key
        if self._jwks is not None:
            # PyJWKClient fetches over blocking HTTP on a cache miss; keep it off the event loop.
            try:
                return (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
            except jwt.PyJWKClientConnectionError as error:
                raise IdentityProviderUnavailable("the identity provider's keys are unreachable") from error
        raise NotAuthenticated("token verification is not configured (set JWT_PUBLIC_KEY or JWKS_URL)")


_bearer = HTTPBearer(auto_error=False, description="JWT from the clinic identity provider")


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise NotAuthenticated("a bearer token is required")
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_roles(*roles: Role) -> Any:
    """A dependency that admits only the given roles: `Depends(require_roles(Role.ADMIN))`."""
    allowed = frozenset(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"requires one of: {', '.join(sorted(allowed))}")
        return principal

    return Depends(check)


def require_clinic_roles(*roles: Role) -> Any:
    """For a route under `/clinics/{clinic_id}`: one of `roles`, working at that clinic (admins at every
    clinic). A dependency, so it is decided before the body is read or validated: staff of another
    clinic get 403 whatever they send, and learn nothing from a 422."""
    allowed = frozenset(roles)

    async def check(
        clinic_id: Annotated[UUID, Path(description="the clinic's id")], principal: CurrentPrincipal
    ) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"requires one of: {', '.join(sorted(allowed))}")
        principal.ensure_clinic(clinic_id)
        return principal

    return Depends(check)


def mint_token(
    private_key_pem: str,
    *,
    subject: str,
    role: Role,
    clinic_ids: list[UUID] | None = None,
    appointment_ids: list[UUID] | None = None,
    issuer: str,
    audience: str,
    ttl: timedelta = timedelta(hours=12),
    key_id: str = "dev",
) -> str:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role.value,
        "clinics": [str(c) for c in clinic_ids or []],
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
    }
    if appointment_ids:
        claims["appointments"] = [str(a) for a in appointment_ids]
    return jwt.encode(claims, private_key_pem, algorithm="RS256", headers={"kid": key_id})


def generate_keypair() -> tuple[str, str]:
    """A fresh RSA key pair (private PEM, public PEM) for the development issuer and for tests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def jwks_document(public_key_pem: str, *, key_id: str = "dev") -> dict[str, Any]:
    key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the development issuer signs with RSA keys")
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.update({"kid": key_id, "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}
