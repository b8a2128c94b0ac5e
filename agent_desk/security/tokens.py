"""Short-lived JWT access tokens and refresh tokens (HS256, pyjwt), both bound to a log-in session."""

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
    """The token cannot be used. The message is for the log; clients get a generic answer."""


@dataclass(frozen=True)
class Issued:
    token: str
    token_id: str  # the jti
    expires_at: datetime


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    kind: TokenKind
    generation: int
    session_id: str
    token_id: str
    expires_at: datetime
    principal: Principal | None  # access tokens carry it, so requests need no user look-up


class TokenIssuer:
    def __init__(self, secret: str, *, access_ttl: timedelta, refresh_ttl: timedelta) -> None:
        self._secret = secret or secrets.token_urlsafe(32)
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def issue(self, user_id: int, kind: TokenKind, *, session_id: str, generation: int = 0,
              principal: Principal | None = None, now: datetime | None = None,
              expires_at: datetime | None = None) -> Issued:
        """A signed token of the session. Default lifetime: `access_ttl` or `refresh_ttl` from now."""
        now = now or utcnow()
        expires = expires_at or now + (self.access_ttl if kind == "access" else self.refresh_ttl)
        token_id = uuid.uuid4().hex
        claims: dict[str, object] = {
            "sub": str(user_id), "typ": kind, "gen": generation, "sid": session_id, "iss": ISSUER,
            "iat": int(now.timestamp()), "exp": int(expires.timestamp()), "jti": token_id,
        }
        if principal is not None:
            claims.update(name=principal.username, role=principal.role.value, unit=principal.unit_id,
                          region=principal.region_code, city=principal.city_scope,
                          agent=principal.agent_interface)
        return Issued(jwt.encode(claims, self._secret, algorithm="HS256"), token_id, expires)

    def decode(self, token: str, kind: TokenKind) -> TokenClaims:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=["HS256"], issuer=ISSUER,
                options={"require": ["sub", "exp", "typ", "iss", "sid", "jti"]})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        if claims.get("typ") != kind:
            raise InvalidToken(f"expected a {kind} token")
        try:
            user_id, generation = int(claims["sub"]), int(claims.get("gen", 0))
            session_id, token_id = str(claims["sid"]), str(claims["jti"])
            principal = None
            if kind == "access":
                principal = Principal(user_id, str(claims["name"]), Role(claims["role"]), claims.get("unit"),
                                      claims.get("region"), claims.get("city"), claims.get("agent"), session_id)
        except (KeyError, TypeError, ValueError):
            raise InvalidToken("malformed claims") from None
        return TokenClaims(user_id, kind, generation, session_id, token_id,
                           datetime.fromtimestamp(claims["exp"], UTC), principal)
