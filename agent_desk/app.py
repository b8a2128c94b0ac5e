"""The composition root: builds the object graph by hand and runs the long-lived parts in the lifespan.

Lifespan order: database → ticketing service and knowledge base → live model and board (fed by
AMI, a replay, or nothing) → screen pops → SLA sweep → adapters (as configured). Shutdown runs in
reverse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.contextvars import bound_contextvars

from agent_desk import heap, metrics
from agent_desk.api import (
    admin_accounts,
    admin_calendar,
    admin_routing,
    admin_units,
    agent,
    attachments,
    auth,
    callbacks,
    calls,
    citizen,
    follow_up,
    inbox,
    kiosk,
    knowledge,
    open311,
    pages,
    regions,
    reports,
    routing_preview,
    supervisor,
    ticket_search,
    ticket_stream,
    tickets,
    wallboard,
)
from agent_desk.api.errors import install_handlers
from agent_desk.api.input_guard import InputGuard
from agent_desk.audit import AuditLog
from agent_desk.desk import Desk
from agent_desk.live.board import LiveBoard
from agent_desk.metrics import HttpMetrics
from agent_desk.request_ids import RequestIds
from agent_desk.screen_pop import ScreenPops
from agent_desk.security.headers import SecurityHeaders
from agent_desk.security.kiosk import KioskKeys
from agent_desk.security.sessions import LoginSessions
from agent_desk.security.throttle import Throttle
from agent_desk.security.tokens import TokenIssuer
from agent_desk.settings import Settings
from agent_desk.supervision.cache import TtlCache
from agent_desk.telephony import NoTelephony, Telephony
from agent_desk.wiring import Part, sweep_part, telephony_board
from ami.events import AgentCall
from ticketing.db import make_engine, make_session_factory
from ticketing.knowledge import KnowledgeBase
from ticketing.models import utcnow
from ticketing.service import TicketService
from ticketing.sweep import SWEEP_ACTOR, Breach
from ticketing.views import TicketChange

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def build_desk(settings: Settings, sessions_factory: object, *, telephony: Telephony | None = None,
               board: LiveBoard | None = None) -> Desk:
    from ticketing.db import SessionFactory

    sessions: SessionFactory = sessions_factory  # type: ignore[assignment]
    service = TicketService.from_settings(sessions, settings.ticketing)
    auth_settings = settings.desk.auth
    portal = settings.desk.portal
    if board is None:
        board = telephony_board(settings)
    tokens = TokenIssuer(auth_settings.jwt_secret.get_secret_value(),
                         access_ttl=timedelta(minutes=auth_settings.access_minutes),
                         refresh_ttl=timedelta(hours=auth_settings.refresh_hours))
    return Desk(
        settings=settings, sessions=sessions, tickets=service, tokens=tokens,
        knowledge=KnowledgeBase.from_settings(sessions, settings.ticketing),
        logins=LoginSessions(sessions, tokens, check_seconds=auth_settings.session_check_seconds),
        throttle=Throttle(sessions, "login", per_subject=auth_settings.login_attempts,
                          per_address=auth_settings.login_attempts_per_address,
                          window_seconds=auth_settings.login_window_seconds),
        lookups=Throttle(sessions, "lookup", per_subject=auth_settings.lookup_attempts,
                         per_address=auth_settings.lookup_attempts_per_address,
                         window_seconds=auth_settings.lookup_window_seconds),
        submissions=Throttle(sessions, "submit", per_subject=portal.submissions_per_phone,
                             per_address=portal.submissions_per_address,
                             window_seconds=portal.submission_window_seconds),
        kiosks=KioskKeys(sessions, check_seconds=auth_settings.session_check_seconds),
        audit=AuditLog(sessions), board=board,
        screen_pops=ScreenPops(sessions, service, history_days=settings.desk.agents.screen_pop_days),
        telephony=telephony or NoTelephony(
            "replay mode: no PBX to act on" if settings.desk.replay.file else
            "no PBX connected (configure [ami] servers)"),
    )


async def _screen_pop_pump(desk: Desk) -> None:
    async with desk.board.model.subscribe() as events:
        async for event in events:
            if not isinstance(event, AgentCall):
                continue
            try:
                await desk.screen_pops.on_signal(event)
            except Exception:
                with bound_contextvars(linkedid=event.linkedid):
                    log.exception("screen pop for %s failed", event.interface)


def create_app(settings: Settings, *, telephony: Telephony | None = None, board: LiveBoard | None = None,
               parts: list[Part] | None = None, run_sweep: bool = True,
               engine: AsyncEngine | None = None, api: bool = True, settle_heap: bool = False) -> FastAPI:
    """The FastAPI app. `parts` are the long-lived adapters (see `agent_desk.wiring.adapter_parts`),
    started after the core and stopped before it. Without `api` (a process of other roles only) it
    serves the operations routes alone.
    A given `engine` is used (and not disposed) instead of one built from `settings.db`.
    `settle_heap`: the serving process's garbage collector is settled once warm (`agent_desk.heap`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        db_engine = engine or make_engine(settings.db.url, echo=settings.db.echo, pool_size=settings.db.pool_size,
                                          max_overflow=settings.db.max_overflow)
        sessions = make_session_factory(db_engine)
        desk = build_desk(settings, sessions, telephony=telephony, board=board)
        app.state.settings = settings
        app.state.sessions = sessions
        app.state.desk = desk
        app.state.city_lights = TtlCache(wallboard.CITY_LIGHTS_TTL)
        app.state.dashboards = TtlCache(supervisor.DASHBOARD_TTL)
        app.state.change_streams = ticket_stream.ChangeStreams(desk.ticket_feed)
        async with AsyncExitStack() as stack:
            stack.callback(app.state.change_streams.close)
            if own_engine:
                stack.push_async_callback(db_engine.dispose)
            pump = asyncio.create_task(_screen_pop_pump(desk), name="screen-pops")
            stack.push_async_callback(_cancel, pump)
            warm = asyncio.create_task(_warm(desk, settle_heap), name="kb-segmenter")
            stack.push_async_callback(_cancel, warm)
            if run_sweep:
                stack.push_async_callback(await sweep_part(desk))
            for part in parts or []:
                stack.push_async_callback(await part(desk))
            yield

    app = FastAPI(
        title="12345 hotline contact center", version="0.1.0", lifespan=lifespan,
        description="Agent desk, handler inbox, supervisor analytics, wallboard and Open311 intake. "
                    "All timestamps are ISO 8601 with a time zone (UTC). Lists page by cursor.",
        docs_url=None, redoc_url=None,
    )
    install_handlers(app)
    open311.install_errors(app)
    app.add_middleware(InputGuard)
    app.add_middleware(HttpMetrics)
    app.add_middleware(SecurityHeaders)  # outside the guard: refusals get the headers too
    app.add_middleware(RequestIds)  # outermost: every line of a request carries its id

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse((STATIC_DIR / "docs" / "docs.html").read_text("utf-8"))

    app.include_router(metrics.router)
    if not api:
        return app
    for module in (auth, tickets, attachments, ticket_search, ticket_stream, routing_preview, regions, inbox, calls,
                   follow_up, agent, callbacks, knowledge, supervisor, reports, kiosk, wallboard, open311, citizen,
                   admin_accounts, admin_routing, admin_units, admin_calendar, pages):
        app.include_router(module.router)
    app.mount("/wallboard/static", StaticFiles(directory=STATIC_DIR), name="wallboard-static")
    app.mount("/docs/static", StaticFiles(directory=STATIC_DIR / "docs"), name="docs-static")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def announce_breach(desk: Desk, breach: Breach) -> None:
    """The sweep's 督办 reaches open pages like any other change (the sweep writes its event itself).
    A sweep round's breaches are read together (at 9:00 after a weekend, thousands turn red at once)."""
    waiting = _WAITING.setdefault(id(desk), [])
    waiting.append(breach)
    if len(waiting) > 1:
        return  # the announcement already scheduled takes this one too

    async def announce() -> None:
        await asyncio.sleep(0)  # the rest of the sweep's round (reported without a pause) joins in
        breaches = _WAITING.pop(id(desk), [])
        views = await desk.tickets.views([b.ticket_id for b in breaches])
        now = utcnow()
        for b in breaches:
            if b.ticket_id in views:
                desk.ticket_feed.publish(TicketChange(ticket=views[b.ticket_id], action="supervise",
                                                      actor=SWEEP_ACTOR, reason=f"{b.kind} overdue (督办)", at=now))

    task = asyncio.create_task(announce(), name="breaches")
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


_WAITING: dict[int, list[Breach]] = {}  # per desk: breaches not yet announced
_BACKGROUND: set[asyncio.Task[None]] = set()  # keeps the announcements alive until they are done


async def _warm(desk: Desk, settle_heap: bool) -> None:
    await desk.knowledge.warm()
    if settle_heap:
        heap.settle()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
