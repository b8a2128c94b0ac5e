"""The live figures a caller asks for: its scope (`agent_desk.security.scope.live_scope`), narrowed
to one PBX by `?pbx=NAME` — a name no PBX has is 404, another city's PBX 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Query

from agent_desk.desk import Desk
from agent_desk.security.principal import Principal
from agent_desk.security.scope import LiveScope, live_scope

PbxParam = Annotated[str | None, Query(max_length=64, description="one PBX's figures only (its name)")]


def scope_of(desk: Desk, who: Principal | None, pbx: str | None) -> LiveScope:
    """`who` None: a kiosk, which shows the province."""
    scope = LiveScope() if who is None else live_scope(
        who, desk.settings.desk.supervision.queue_cities, desk.board.cities)
    if pbx is None:
        return scope
    if pbx not in {server.name for server in desk.settings.ami.servers} | set(desk.board.pbx_names()):
        raise HTTPException(404, f"no PBX is named {pbx}")
    if not scope.pbx(pbx):
        raise HTTPException(403, f"PBX {pbx} serves another city than yours")
    return LiveScope(scope.queues, lambda name: name == pbx, scope.city_code)
