"""Who may watch the wallboard: supervisors and dispatchers (bearer token; a city supervisor sees its
city's PBX), or a wall screen's kiosk key (the province).

A wall screen opens `/wallboard#kiosk=KEY`; the page sends the key once in a header to
`POST /api/wallboard/kiosk`, which answers with an HttpOnly cookie, so the key never travels in a
URL (the fragment stays in the browser) and the page's `EventSource` is let in by the cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, Security
from fastapi.security import APIKeyCookie, APIKeyHeader

from agent_desk.api.deps import Credentials, DeskDep, current_principal, still_valid
from agent_desk.api.errors import AUTHED, responses
from agent_desk.security.principal import Principal
from ticketing.models import Role

router = APIRouter(prefix="/api/wallboard", tags=["wallboard"])
COOKIE = "hotline_kiosk"
kiosk_header = APIKeyHeader(name="X-Kiosk-Key", auto_error=False,
                            description="a kiosk key from `hotline users kiosk add NAME`")
kiosk_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="set by POST /api/wallboard/kiosk")
COOKIE_SECONDS = 366 * 24 * 3600  # until revoked, in practice


@dataclass(frozen=True)
class Viewer:
    name: str  # a username, or "kiosk:<name>"
    still_allowed: Callable[[], Awaitable[bool]]  # re-checked by long streams
    who: Principal | None = None  # staff (its scope applies); None: a kiosk, which shows the province


async def wallboard_viewer(desk: DeskDep, credentials: Credentials,
                           header_key: Annotated[str | None, Security(kiosk_header)],
                           cookie_key: Annotated[str | None, Security(kiosk_cookie)]) -> Viewer:
    if credentials is not None:
        who = await current_principal(desk, credentials)
        if not (who.sees_everything or (who.role is Role.SUPERVISOR and who.city_scope)):
            raise HTTPException(403, "the wallboard is for supervisors and dispatchers (a city supervisor sees "
                                     "its city's PBX) and for wall screens with a kiosk key")
        token = credentials.credentials
        return Viewer(who.username, lambda: still_valid(desk, token), who)
    key = header_key or cookie_key
    name = await desk.kiosks.name_of(key) if key else None
    if key is None or name is None:
        raise HTTPException(401, "the wallboard needs a kiosk key (open /wallboard#kiosk=KEY) or a staff token",
                            headers={"WWW-Authenticate": "Bearer"})

    async def key_valid() -> bool:
        return await desk.kiosks.name_of(key) is not None

    return Viewer(f"kiosk:{name}", key_valid)


WallboardViewer = Annotated[Viewer, Depends(wallboard_viewer)]


@router.post("/kiosk", status_code=204, responses=responses(*AUTHED))
async def kiosk_session(request: Request, desk: DeskDep,
                        key: Annotated[str | None, Security(kiosk_header)]) -> Response:
    """Exchange a kiosk key (header `X-Kiosk-Key`) for an HttpOnly cookie that opens the wallboard's
    snapshot and stream on this screen until the key is revoked."""
    if not key or await desk.kiosks.name_of(key) is None:
        raise HTTPException(401, "unknown or revoked kiosk key", headers={"WWW-Authenticate": "Bearer"})
    response = Response(status_code=204)
    response.set_cookie(COOKIE, key, max_age=COOKIE_SECONDS, path="/api/wallboard", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response
