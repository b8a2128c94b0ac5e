"""Request dependencies as `Annotated` aliases: the desk, the caller and role guards."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agent_desk.desk import Desk
from agent_desk.security.principal import Principal
from agent_desk.security.tokens import InvalidToken
from ticketing.models import Role

bearer = HTTPBearer(auto_error=False, description="an access token from POST /api/auth/login")


def get_desk(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


DeskDep = Annotated[Desk, Depends(get_desk)]


def current_principal(
    desk: DeskDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    if credentials is None:
        raise HTTPException(401, "not authenticated", headers={"WWW-Authenticate": "Bearer"})
    try:
        return desk.tokens.principal(credentials.credentials)
    except InvalidToken as exc:
        raise HTTPException(401, f"invalid token: {exc}", headers={"WWW-Authenticate": "Bearer"}) from None


Caller = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    allowed = set(roles) | {Role.ADMIN}

    async def guard(who: Caller) -> Principal:
        if who.role not in allowed:
            raise HTTPException(403, f"role {who.role.value} may not do this; needs "
                                     f"{', '.join(sorted(r.value for r in allowed))}")
        return who

    return guard


AgentCaller = Annotated[Principal, Depends(require(Role.AGENT))]
DeskStaff = Annotated[Principal, Depends(require(Role.AGENT, Role.DISPATCHER))]
HandlerCaller = Annotated[Principal, Depends(require(Role.HANDLER))]
SupervisorCaller = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.DISPATCHER))]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
