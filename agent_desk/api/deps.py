"""Request dependencies as `Annotated` aliases: the desk, the caller and role guards."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent_desk.desk import Desk
from agent_desk.security.addresses import client_address
from agent_desk.security.principal import Principal
from agent_desk.security.tokens import InvalidToken
from ticketing.models import Role

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="an access token from POST /api/auth/login")
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


async def get_desk(request: Request) -> Desk:
    """Async although it awaits nothing: FastAPI runs a plain `def` dependency in its thread pool,
    a thread hop on every request (docs/benchmarks.md, "Desk mix beside its floor")."""
    desk: Desk = request.app.state.desk
    return desk


DeskDep = Annotated[Desk, Depends(get_desk)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def current_principal(desk: Desk, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller behind a valid, unrevoked access token. Why a token is refused goes to the log,
    never to the client."""
    if credentials is None:
        raise HTTPException(401, "not authenticated", headers=UNAUTHORIZED)
    try:
        return await desk.logins.principal(credentials.credentials)
    except InvalidToken as exc:
        log.info("access token refused: %s", exc)
        raise HTTPException(401, "invalid or expired token", headers=UNAUTHORIZED) from None


class CallerOf(HTTPBearer):
    """The caller (`current_principal`), of a role in `allowed` (None: any) as one dependency: the
    bearer scheme itself, so the OpenAPI document shows it as before, without the three or four nested
    dependencies FastAPI solved on every request (docs/benchmarks.md, "Desk mix beside its floor")."""

    def __init__(self, allowed: frozenset[Role] | None = None) -> None:
        super().__init__(auto_error=False, description=bearer.model.description, scheme_name=bearer.scheme_name)
        self.allowed = allowed

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        who = await current_principal(request.app.state.desk, await super().__call__(request))
        if self.allowed is not None and who.role not in self.allowed:
            raise HTTPException(403, f"role {who.role.value} may not do this; needs "
                                     f"{', '.join(sorted(r.value for r in self.allowed))}")
        return who


Caller = Annotated[Principal, Depends(CallerOf())]


async def still_valid(desk: Desk, token: str) -> bool:
    """Whether an access token a long stream was opened with still holds (not expired, not revoked):
    streams check it as they go and end when it does not, so the page reconnects or logs in again."""
    try:
        await desk.logins.principal(token)
    except InvalidToken:
        return False
    return True


def require(*roles: Role) -> CallerOf:
    """Callers of these roles, and admins."""
    return CallerOf(frozenset({*roles, Role.ADMIN}))


AgentCaller = Annotated[Principal, Depends(require(Role.AGENT))]
DeskStaff = Annotated[Principal, Depends(require(Role.AGENT, Role.DISPATCHER))]
HandlerCaller = Annotated[Principal, Depends(require(Role.HANDLER))]
SupervisorCaller = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.DISPATCHER))]
AdminCaller = Annotated[Principal, Depends(require())]


def client_ip(request: Request) -> str:
    """The client's address; `X-Forwarded-For` counts only from `desk.auth.trusted_proxies`."""
    desk: Desk = request.app.state.desk
    return client_address(request.client.host if request.client else None,
                          request.headers.get("x-forwarded-for"), desk.settings.desk.auth.trusted_proxies)
