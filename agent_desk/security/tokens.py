"""Short-lived JWT access tokens and longer refresh tokens (HS256, pyjwt)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

from agent_desk.security.principal import Principal
from ticketing.models import Role, utcnow

TokenKind = Literal["access", "refresh"]
ISSUER = "hotline12345"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    kind: TokenKind
    generation: int
    expires_at: datetime


class TokenIssuer:
    def __init__(self, secret: str, *, access_ttl: timedelta, refresh_ttl: timedelta) -> None:
        self._secret = secret or secrets.token_urlsafe(32)
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def issue(self, user_id: int, kind: TokenKind, generation: int = 0, now: datetime | None = None,
              principal: Principal | None = None) -> tuple[str, datetime]:
        """A signed token. Access tokens carry the principal, so requests need no user look-up."""
        now = now or utcnow()
        expires = now + (self.access_ttl if kind == "access" else self.refresh_ttl)
        claims: dict[str, object] = {
            "sub": str(user_id), "typ": kind, "gen": generation, "iss": ISSUER,
            "iat": int(now.timestamp()), "exp": int(expires.timestamp()), "jti": uuid.uuid4().hex,
        }
        if principal is not None:
            claims.update(name=principal.username, role=principal.role.value, unit=principal.unit_id,
                          region=principal.region_code, city=principal.city_scope,
                          agent=principal.agent_interface)
        return jwt.encode(claims, self._secret, algorithm="HS256"), expires

    def principal(self, token: str) -> Principal:
        claims = self._claims(token, "access")
        try:
            return Principal(int(claims["sub"]), str(claims["name"]), Role(claims["role"]),
                             claims.get("unit"), claims.get("region"), claims.get("city"),
                             claims.get("agent"))
        except (KeyError, ValueError):
            raise InvalidToken("malformed access token") from None

    def decode(self, token: str, kind: TokenKind) -> TokenClaims:
        claims = self._claims(token, kind)
        try:
            user_id = int(claims["sub"])
        except ValueError:
            raise InvalidToken("bad subject") from None
        return TokenClaims(user_id, kind, int(claims.get("gen", 0)), datetime.fromtimestamp(claims["exp"], UTC))

    def _claims(self, token: str, kind: TokenKind) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], issuer=ISSUER,
                                options={"require": ["sub", "exp", "typ", "iss"]})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        if claims.get("typ") != kind:
            raise InvalidToken(f"expected a {kind} token")
        return claims
