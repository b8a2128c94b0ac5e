"""Log in (rate-limited), refresh, and who-am-I."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from agent_desk.accounts import active_user, authenticate, principal_of
from agent_desk.api.deps import Caller, DeskDep, client_ip
from agent_desk.api.errors import AUTHED, responses
from agent_desk.security.principal import Principal
from agent_desk.security.tokens import InvalidToken
from ticketing.models import Role, User

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class Me(BaseModel):
    user_id: int
    username: str
    role: Role
    unit_id: str | None
    region_code: str | None
    city_scope: str | None
    agent_interface: str | None

    @classmethod
    def of(cls, who: Principal) -> Me:
        return cls(user_id=who.user_id, username=who.username, role=who.role, unit_id=who.unit_id,
                   region_code=who.region_code, city_scope=who.city_scope,
                   agent_interface=who.agent_interface)


class Tokens(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    user: Me


async def _tokens(desk: DeskDep, user: User) -> Tokens:
    who = await principal_of(desk.sessions, user)
    access, access_exp = desk.tokens.issue(user.id, "access", user.token_generation, principal=who)
    refresh, refresh_exp = desk.tokens.issue(user.id, "refresh", user.token_generation)
    return Tokens(access_token=access, expires_at=access_exp, refresh_token=refresh,
                  refresh_expires_at=refresh_exp, user=Me.of(who))


@router.post("/login", response_model=Tokens, responses=responses(401, 429))
async def login(body: LoginRequest, desk: DeskDep, request: Request) -> Tokens | JSONResponse:
    """Exchange a username and password for a short-lived access token and a refresh token.

    At most `desk.auth.login_attempts` attempts per username and address per window."""
    ip = client_ip(request)
    wait = desk.throttle.retry_after(body.username, ip)
    if wait > 0:
        await desk.audit.record(body.username, "user.login", "user", body.username, outcome="throttled", source_ip=ip)
        return JSONResponse({"detail": "too many login attempts"}, status_code=429,
                            headers={"Retry-After": str(int(wait) + 1)})
    user = await authenticate(desk.sessions, body.username, body.password)
    if user is None:
        await desk.audit.record(body.username, "user.login", "user", body.username, outcome="denied", source_ip=ip)
        raise HTTPException(401, "wrong username or password", headers={"WWW-Authenticate": "Bearer"})
    desk.throttle.succeeded(body.username, ip)
    await desk.audit.record(user.username, "user.login", "user", user.id, source_ip=ip)
    return await _tokens(desk, user)


@router.post("/refresh", response_model=Tokens, responses=responses(401))
async def refresh(body: RefreshRequest, desk: DeskDep) -> Tokens:
    """A new token pair for a valid refresh token of a still-active user."""
    try:
        claims = desk.tokens.decode(body.refresh_token, "refresh")
    except InvalidToken as exc:
        raise HTTPException(401, f"invalid refresh token: {exc}") from None
    user = await active_user(desk.sessions, claims.user_id)
    if user is None or user.token_generation != claims.generation:
        raise HTTPException(401, "refresh token revoked")
    return await _tokens(desk, user)


@router.get("/me", response_model=Me, responses=responses(*AUTHED))
async def me(who: Caller) -> Me:
    return Me.of(who)


