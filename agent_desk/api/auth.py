"""Log in (throttled), refresh (rotating), log out, and who-am-I."""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from agent_desk.accounts import authenticate
from agent_desk.api.deps import UNAUTHORIZED, Caller, DeskDep, client_ip
from agent_desk.api.errors import AUTHED, responses
from agent_desk.security.addresses import throttle_key
from agent_desk.security.principal import Principal
from agent_desk.security.sessions import RefreshReused, SessionTokens
from agent_desk.security.tokens import InvalidToken
from ticketing.models import Role

log = logging.getLogger(__name__)
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
    refresh_token: str = Field(description="use once: each refresh returns a new one; reusing an old one "
                                           "ends the session")
    refresh_expires_at: datetime = Field(description="the end of the session: log in again after it")
    user: Me

    @classmethod
    def of(cls, pair: SessionTokens) -> Tokens:
        return cls(access_token=pair.access.token, expires_at=pair.access.expires_at,
                   refresh_token=pair.refresh.token, refresh_expires_at=pair.refresh.expires_at,
                   user=Me.of(pair.principal))


@router.post("/login", response_model=Tokens, responses=responses(401, 429))
async def login(body: LoginRequest, desk: DeskDep, request: Request) -> Tokens | JSONResponse:
    """Exchange a username and password for a short-lived access token and a refresh token.

    Failed attempts are limited per username (`desk.auth.login_attempts`, from any address) and per
    address (`desk.auth.login_attempts_per_address`, across usernames) within a window: 429."""
    ip = client_ip(request)
    attempt = await desk.throttle.attempt(body.username, throttle_key(ip))
    if attempt.retry_after > 0:
        await desk.audit.record(body.username, "user.login", "user", body.username, outcome="throttled", source_ip=ip)
        return JSONResponse({"detail": "too many login attempts"}, status_code=429,
                            headers={"Retry-After": str(int(attempt.retry_after) + 1)})
    user = await authenticate(desk.sessions, body.username, body.password)
    if user is None:
        await desk.audit.record(body.username, "user.login", "user", body.username, outcome="denied", source_ip=ip)
        raise HTTPException(401, "wrong username or password", headers=UNAUTHORIZED)
    await desk.throttle.succeeded(attempt)
    await desk.audit.record(user.username, "user.login", "user", user.id, source_ip=ip)
    return Tokens.of(await desk.logins.start(user))


@router.post("/refresh", response_model=Tokens, responses=responses(401))
async def refresh(body: RefreshRequest, desk: DeskDep, request: Request) -> Tokens:
    """A new token pair for the session's newest refresh token; the one sent is used up. Sending an
    older one ends the session (someone copied it), and every token of it stops working."""
    try:
        return Tokens.of(await desk.logins.rotate(body.refresh_token))
    except RefreshReused as exc:
        log.warning("%s", exc)
        await desk.audit.record(exc.username, "session.revoke", "session", exc.session_id, outcome="reused",
                                source_ip=client_ip(request))
        raise HTTPException(401, "refresh token already used: the session has ended", headers=UNAUTHORIZED) from None
    except InvalidToken as exc:
        log.info("refresh token refused: %s", exc)
        raise HTTPException(401, "invalid or expired refresh token", headers=UNAUTHORIZED) from None


@router.post("/logout", status_code=204, responses=responses(*AUTHED))
async def logout(who: Caller, desk: DeskDep) -> Response:
    """End your session: its access and refresh tokens stop working."""
    if who.session_id:
        await desk.logins.revoke(who.session_id, "logout")
    await desk.audit.record(who.username, "user.logout", "user", who.user_id)
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses=responses(*AUTHED))
async def me(who: Caller) -> Me:
    return Me.of(who)
