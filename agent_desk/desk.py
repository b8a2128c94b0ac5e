"""Everything the routes need, built once by the composition root (`agent_desk.app`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement

from agent_desk.audit import AuditLog
from agent_desk.live.board import LiveBoard
from agent_desk.live.fanout import Mirror, Publisher
from agent_desk.screen_pop import ScreenPops
from agent_desk.security.kiosk import KioskKeys
from agent_desk.security.principal import Principal
from agent_desk.security.scope import call_scope
from agent_desk.security.sessions import LoginSessions
from agent_desk.security.throttle import Throttle
from agent_desk.security.tokens import TokenIssuer
from agent_desk.settings import Settings
from agent_desk.telephony import NoTelephony, Telephony
from ami.bus import EventBus
from ticketing.db import SessionFactory, autocommit_sessions
from ticketing.knowledge import KnowledgeBase
from ticketing.leadership import Leadership
from ticketing.models import utcnow
from ticketing.service import TicketService
from ticketing.views import TicketChange

if TYPE_CHECKING:  # the adapters load only where their roles run
    from asr.service import AsrService
    from ivr.service import IvrService


@dataclass
class Desk:
    settings: Settings
    sessions: SessionFactory
    tickets: TicketService
    knowledge: KnowledgeBase
    tokens: TokenIssuer
    logins: LoginSessions
    throttle: Throttle  # log-ins: per username and per address
    lookups: Throttle  # citizens reading their request: per request number and per address
    submissions: Throttle  # citizens' requests from the portal: per phone number and per address
    kiosks: KioskKeys
    audit: AuditLog
    board: LiveBoard
    screen_pops: ScreenPops
    telephony: Telephony = field(default_factory=NoTelephony)
    # Every committed ticket change of this process, for the pages' live updates (`/api/ticket-changes/stream`).
    ticket_feed: EventBus[TicketChange] = field(default_factory=EventBus)
    leaderships: list[Leadership] = field(default_factory=list)  # the singletons this process campaigns for
    publishers: list[Publisher] = field(default_factory=list)  # live events to Redis (telephony leader)
    mirror: Mirror | None = None  # live events from Redis (api role, split over processes)
    ivr: IvrService | None = None  # the FastAGI server, where this process runs it
    asr: AsrService | None = None  # the ASR service (its workers, or only its job queue)

    def __post_init__(self) -> None:
        self.tickets.on_change = self.ticket_feed.publish

    @cached_property
    def reads(self) -> SessionFactory:
        """Sessions for routes that only read (`autocommit_sessions`: no BEGIN and ROLLBACK round trips
        around a read; docs/benchmarks.md, the desk mix)."""
        return autocommit_sessions(self.sessions)

    def call_scope(self, who: Principal) -> ColumnElement[bool]:
        """The call records `who` may see (`agent_desk.security.scope.call_scope`), by this
        deployment's places: the queues' and the PBXs' cities (the board's: split over processes,
        as the telephony leaders publish them)."""
        return call_scope(who, self.settings.desk.supervision.queue_cities, self.board.cities)

    @property
    def zone(self) -> ZoneInfo:
        """The hotline's time zone (its calendar's): local days and hours in every KPI."""
        return ZoneInfo(self.settings.ticketing.calendar.timezone)

    def utc_offset_hours(self) -> int:
        offset = utcnow().astimezone(self.zone).utcoffset()
        return int(offset.total_seconds() // 3600) if offset else 0

    def day_start(self) -> datetime:
        """Midnight today on the hotline's calendar (what "today's counts" count from)."""
        local = utcnow().astimezone(self.zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
