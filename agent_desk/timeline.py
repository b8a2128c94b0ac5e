"""A request's history told to the citizen who made it: one plain sentence per step.

Only what a citizen should read: internal notes, return reasons and rulings' words stay inside;
the unit's reply is shown on its own. Units are named (the citizen should know who handles it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel

from ticketing.models import TicketEvent
from ticketing.vocabulary import Rating


class Step(BaseModel):
    at: datetime
    action: str
    text: str


def _unit(data: Mapping[str, object], units: Mapping[str, str], fallback: str) -> str:
    unit_id = data.get("lead_unit_id")
    return units.get(str(unit_id), fallback) if unit_id else fallback


def _sentence(event: TicketEvent, units: Mapping[str, str], lead: str) -> str | None:
    data = event.data or {}
    match event.action:
        case "accept":
            return "12345 已受理您的诉求"
        case "dispatch" | "rule":
            return f"已派至{_unit(data, units, '承办单位')}办理"
        case "sign":
            return f"{lead}已签收，正在办理"
        case "return":
            return "承办单位申请退回，平台正在重新派单"
        case "escalate":
            return "平台正在审定承办单位"
        case "request_extension":
            return f"{lead}申请延长办理期限"
        case "approve_extension":
            return "延期已批准，办理期限已更新"
        case "deny_extension":
            return "延期未获批准，办理期限不变"
        case "reply":
            return f"{lead}已答复"
        case "close_direct":
            return "12345 已直接答复，诉求办结"
        case "follow_up":
            rating = Rating(str(data.get("rating")))
            if rating is Rating.UNSATISFIED:
                return "回访：不满意，已转承办单位重新办理"
            return f"回访：{rating.label}，诉求办结"
        case "supervise":
            return "平台已督办，催促承办单位抓紧办理"
        case "archive":
            return "已归档"
    return None  # notes and anything internal


def timeline(events: Sequence[TicketEvent], units: Mapping[str, str]) -> list[Step]:
    """The events, oldest first, as the citizen reads them; `units`: unit id → name."""
    steps: list[Step] = []
    lead = "承办单位"
    for event in events:
        if event.action in ("dispatch", "rule"):
            lead = _unit(event.data or {}, units, lead)
        text = _sentence(event, units, lead)
        if text is not None:
            steps.append(Step(at=event.at, action=event.action, text=text))
    return steps
