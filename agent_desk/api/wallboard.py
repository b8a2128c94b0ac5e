"""The wallboard: a static page (no build step) fed by server-sent events.

`/api/wallboard/stream` sends a `snapshot` event at once, then within ~0.1 s of every change event
of the live model (an AMI event, real or replayed), and at least every 2 s so waits keep counting.
The figures are the live board's (`agent_desk.live.board`, docs/metrics.md). Caller numbers are
masked and waiting callers are not listed: the board is meant for a wall, where anyone can read it.
The data is not public: a kiosk key (the province) or a supervisor's or dispatcher's token opens it
(`agent_desk.api.kiosk`); a city supervisor sees its city's PBX, lights and hot spots.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from importlib.resources import files
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import select
from sse_starlette import EventSourceResponse, ServerSentEvent

from agent_desk.api.agent import ping_every
from agent_desk.api.deps import DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.kiosk import WallboardViewer
from agent_desk.api.live_scope import PbxParam, scope_of
from agent_desk.desk import Desk
from agent_desk.live.board import PbxFigures, QueueFigures
from agent_desk.security.scope import LiveScope
from agent_desk.supervision.cache import TtlCache
from agent_desk.supervision.hotspots import hot_spots
from ticketing.kpi import Dimension, KpiFilter, ticket_kpis
from ticketing.models import CallbackClaim, utcnow
from ticketing.vocabulary import Category

router = APIRouter(tags=["wallboard"])
STATIC = files("agent_desk.static")
CITY_LIGHTS_TTL = 10.0


class BoardAbandoned(BaseModel):
    queue: str
    caller: str
    at: datetime
    wait_seconds: float
    called_back: bool = False  # an agent has called this caller back (desk: claim, then Originate)


class CityLights(BaseModel):
    code: str
    name: str
    red: int
    open_on_time: int
    green: int
    yellow: int


class HotSpotAlert(BaseModel):
    category: str
    category_label: str
    county_code: str
    county_name: str
    last_hour: int
    usual_per_hour: float


class WallboardSnapshot(BaseModel):
    mode: Literal["live", "replay", "offline"]
    source: str | None
    at: datetime
    last_event_at: datetime | None
    stale: bool  # the live feed (Redis, the telephony leader) is away: the call figures may be old
    answer_rate_target: float
    service_level_seconds: float
    totals: QueueFigures
    queues: list[QueueFigures]
    pbx: list[PbxFigures]
    abandoned: list[BoardAbandoned]
    cities: list[CityLights]
    hotspots: list[HotSpotAlert]


def mask(number: str | None) -> str:
    if not number:
        return "unknown"
    return number[:3] + "*" * max(0, len(number) - 7) + number[-4:] if len(number) > 7 else number[:-2] + "**"


# Ticket lights per city and hot-spot alerts: cached for CITY_LIGHTS_TTL seconds (`app.state.city_lights`).
CityPanels = tuple[list[CityLights], list[HotSpotAlert]]


async def _city_panels(desk: Desk) -> CityPanels:
    return await _city_lights(desk), await _hot_spots(desk)


async def _hot_spots(desk: Desk) -> list[HotSpotAlert]:
    sup = desk.settings.desk.supervision
    regions = desk.tickets.routing.regions
    async with desk.sessions() as session:
        spots = await hot_spots(session, now=utcnow(), factor=sup.hotspot_factor,
                                min_tickets=sup.hotspot_min_tickets, baseline_days=sup.hotspot_baseline_days)
    return [HotSpotAlert(category=s.category, category_label=Category(s.category).label,
                         county_code=s.county_code,
                         county_name=regions[s.county_code].name if s.county_code in regions else s.county_code,
                         last_hour=s.last_hour, usual_per_hour=s.usual_per_hour) for s in spots[:5]]


async def _city_lights(desk: Desk) -> list[CityLights]:
    """Red and in-hand: every open ticket, whatever its age. Green and yellow: created today."""
    regions = desk.tickets.routing.regions
    now = utcnow()
    tz = ZoneInfo(desk.settings.ticketing.calendar.timezone)
    day_start = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    async with desk.sessions() as session:
        all_time = {r.key: r for r in await ticket_kpis(session, now=now, by=Dimension.CITY, where=KpiFilter())}
        today = {r.key: r for r in await ticket_kpis(session, now=now, by=Dimension.CITY,
                                                      where=KpiFilter(since=day_start))}
    result = []
    for code in sorted(code for code, r in regions.items() if r.level.value == "city"):
        ever, day = all_time.get(code), today.get(code)
        open_total = (ever.total - ever.closed) if ever else 0
        red = ever.red if ever else 0
        result.append(CityLights(code=code, name=regions[code].short_name, red=red,
                                 open_on_time=max(0, open_total - red), green=day.green if day else 0,
                                 yellow=day.yellow if day else 0))
    return result


async def _called_back(desk: Desk, linkedids: list[str]) -> set[str]:
    """Which of these abandoned calls were called back (the claim keeps the call's Linkedid)."""
    if not linkedids:
        return set()
    async with desk.sessions() as session:
        rows = await session.scalars(select(CallbackClaim.linkedid).where(
            CallbackClaim.linkedid.in_(linkedids), CallbackClaim.called_at.is_not(None)))
        return set(rows.all())


async def wallboard_snapshot(desk: Desk, cities: TtlCache[CityPanels], scope: LiveScope) -> WallboardSnapshot:
    """The province's board, or a city supervisor's: its city's PBX, lights and hot spots."""
    live = desk.board.snapshot(scope.queues, scope.pbx)
    sup = desk.settings.desk.supervision
    lights, alerts = await cities.get("all", lambda: _city_panels(desk))
    if scope.city_code is not None:
        regions = desk.tickets.routing.regions
        lights = [city for city in lights if city.code == scope.city_code]
        alerts = [a for a in alerts if a.county_code in regions and regions[a.county_code].city_code == scope.city_code]
    recent = live.abandoned[:12]
    called = await _called_back(desk, [a.linkedid for a in recent])

    def board(q: QueueFigures) -> QueueFigures:  # without the callers and members of a QueueView
        return QueueFigures(**q.model_dump(include=set(QueueFigures.model_fields)))

    return WallboardSnapshot(
        mode=live.mode, source=live.source, at=live.at, last_event_at=live.last_event_at, stale=live.stale,
        answer_rate_target=sup.answer_rate_target, service_level_seconds=sup.service_level_seconds,
        totals=board(live.totals), queues=[board(q) for q in live.queues], pbx=live.pbx,
        abandoned=[BoardAbandoned(queue=a.queue, caller=mask(a.caller_number), at=a.at, wait_seconds=a.wait_seconds,
                                  called_back=a.linkedid in called) for a in recent],
        cities=lights, hotspots=alerts,
    )


@router.get("/wallboard", response_class=HTMLResponse, include_in_schema=True,
            responses={200: {"content": {"text/html": {}}, "description": "the wallboard page"}})
async def wallboard_page() -> HTMLResponse:
    return HTMLResponse(STATIC.joinpath("wallboard.html").read_text("utf-8"))


@router.get("/api/wallboard/snapshot", response_model=WallboardSnapshot, responses=responses(404, *AUTHED))
async def snapshot(request: Request, desk: DeskDep, viewer: WallboardViewer, pbx: PbxParam = None) -> WallboardSnapshot:
    """The wallboard's figures now, in total and per PBX (a kiosk key: the province; a staff token:
    its scope). `?pbx=NAME`: that PBX only."""
    return await wallboard_snapshot(desk, request.app.state.city_lights, scope_of(desk, viewer.who, pbx))


@router.get("/api/wallboard/stream", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                             "description": "`snapshot` events carrying a WallboardSnapshot"},
                       **responses(404, *AUTHED)})
async def stream(request: Request, desk: DeskDep, viewer: WallboardViewer, pbx: PbxParam = None
                 ) -> EventSourceResponse:
    """`snapshot` events: one at once, then on every live change and at least every 2 s. The stream
    ends when the key or token that opened it is revoked. `?pbx=NAME`: that PBX only."""
    cities: TtlCache[CityPanels] = request.app.state.city_lights
    scope = scope_of(desk, viewer.who, pbx)

    async def events() -> AsyncIterator[ServerSentEvent]:
        async with desk.board.model.subscribe(maxsize=1) as changes:
            yield ServerSentEvent(event="snapshot", retry=1000,
                                  data=(await wallboard_snapshot(desk, cities, scope)).model_dump_json())
            while not await request.is_disconnected() and await viewer.still_allowed():
                try:
                    await asyncio.wait_for(changes.get(), timeout=2.0)
                    await asyncio.sleep(0.1)  # coalesce a burst of events into one update
                    changes.get_nowait()
                except TimeoutError:
                    pass
                yield ServerSentEvent(event="snapshot",
                                      data=(await wallboard_snapshot(desk, cities, scope)).model_dump_json())

    return EventSourceResponse(events(), ping=ping_every())
