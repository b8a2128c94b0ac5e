"""All tables. Each concept lives in its own module; this package gathers them for Alembic."""

import ticketing.models.knowledge_index  # noqa: F401  (the full-text index DDL joins create_all)
from ticketing.models.admin_config import CalendarDay, ConfigVersion, RoutingRuleRow
from ticketing.models.agent_membership import AgentMembership
from ticketing.models.attachment import TicketAttachment
from ticketing.models.audit import AuditEntry
from ticketing.models.base import Base, UTCDateTime, utcnow
from ticketing.models.call_record import CallLeg, CallOutcome, CallRecord
from ticketing.models.call_rollup import CallRollup, CallRollupBasis
from ticketing.models.call_survey import CallSurvey
from ticketing.models.callback_claim import CallbackClaim, CallbackResult
from ticketing.models.draft import Draft, DraftStatus
from ticketing.models.knowledge import KbArticle, KbArticleRegion, KbArticleUnit, KbRevision
from ticketing.models.leader_term import LeaderTerm
from ticketing.models.region import Region, RegionLevel
from ticketing.models.throttle import ThrottleAttempt
from ticketing.models.ticket import Ticket, TicketCoHandler, TicketEvent, TicketSequence
from ticketing.models.ticket_rollup import RedWatermark, TicketRollup
from ticketing.models.transcription_job import JobState, TranscriptionJob
from ticketing.models.unit import Unit, UnitKind
from ticketing.models.user import ApiClient, KioskKey, LoginSession, Role, User

__all__ = [
    "AgentMembership",
    "ApiClient",
    "AuditEntry",
    "Base",
    "CalendarDay",
    "CallLeg",
    "CallOutcome",
    "CallRecord",
    "CallRollup",
    "CallRollupBasis",
    "CallSurvey",
    "CallbackClaim",
    "CallbackResult",
    "ConfigVersion",
    "Draft",
    "DraftStatus",
    "JobState",
    "KbArticle",
    "KbArticleRegion",
    "KbArticleUnit",
    "KbRevision",
    "KioskKey",
    "LeaderTerm",
    "LoginSession",
    "RedWatermark",
    "Region",
    "RegionLevel",
    "Role",
    "RoutingRuleRow",
    "ThrottleAttempt",
    "Ticket",
    "TicketAttachment",
    "TicketCoHandler",
    "TicketEvent",
    "TicketRollup",
    "TicketSequence",
    "TranscriptionJob",
    "UTCDateTime",
    "Unit",
    "UnitKind",
    "User",
    "utcnow",
]
