"""The domain's closed vocabularies: channels, categories, states, ratings. Values are stable API strings.

Also the contracts between adapters: the channel variables the IVR leaves on a call and the AMI
client reads back, and what telephony reports for "no caller ID".
"""

from __future__ import annotations

import enum


class Channel(enum.StrEnum):
    PHONE = "phone"
    WEB = "web"
    WECHAT = "wechat"
    WEIBO = "weibo"
    APP = "app"
    OPEN311 = "open311"


class Category(enum.StrEnum):
    CONSULTATION = "consultation"  # 咨询
    HELP = "help"  # 求助
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    SUGGESTION = "suggestion"  # 建议
    PRAISE = "praise"  # 表扬

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> Category:
        for category, text in CATEGORY_LABELS.items():
            if text == label or category.value == label:
                return category
        raise ValueError(f"unknown category {label!r}; expected one of {', '.join(CATEGORY_LABELS.values())}")


CATEGORY_LABELS = {
    Category.CONSULTATION: "咨询",
    Category.HELP: "求助",
    Category.COMPLAINT: "投诉",
    Category.REPORT: "举报",
    Category.SUGGESTION: "建议",
    Category.PRAISE: "表扬",
}


class TicketState(enum.StrEnum):
    ACCEPTED = "accepted"  # 受理
    DISPATCHED = "dispatched"  # 派单, awaiting 签收
    RETURNED = "returned"  # 退单, awaiting re-dispatch
    RULING = "ruling"  # 审定: a disputed return awaiting a ruling
    HANDLING = "handling"  # 签收 done, 办理 in progress
    EXTENSION_REQUESTED = "extension_requested"  # 延期 requested
    REPLIED = "replied"  # 答复 given, awaiting 回访
    CLOSED = "closed"  # 办结
    ARCHIVED = "archived"  # 归档

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    TicketState.ACCEPTED: "受理",
    TicketState.DISPATCHED: "派单",
    TicketState.RETURNED: "退单",
    TicketState.RULING: "审定",
    TicketState.HANDLING: "办理",
    TicketState.EXTENSION_REQUESTED: "延期申请",
    TicketState.REPLIED: "答复",
    TicketState.CLOSED: "办结",
    TicketState.ARCHIVED: "归档",
}

OPEN_STATES = frozenset(TicketState) - {TicketState.CLOSED, TicketState.ARCHIVED}
UNSIGNED_STATES = frozenset({TicketState.DISPATCHED, TicketState.RETURNED, TicketState.RULING})


class Rating(enum.StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意

    @property
    def label(self) -> str:
        return RATING_LABELS[self]


RATING_LABELS = {Rating.SATISFIED: "满意", Rating.BASICALLY_SATISFIED: "基本满意", Rating.UNSATISFIED: "不满意"}

SATISFIED_RATINGS = (Rating.SATISFIED, Rating.BASICALLY_SATISFIED)


class Light(enum.StrEnum):
    """SLA traffic light. NONE: open and within its deadlines."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    NONE = "none"


# Channel variables the IVR sets on the caller's channel; the AMI client reads them from VarSet.
IVR_RESULT = "IVR_RESULT"  # the call's first decision: report | progress | enterprise | agent | message
IVR_PATH = "IVR_PATH"  # the steps of every session of the call, e.g. greeting>menu:1>record>survey:1
IVR_PATH_MAX_LENGTH = 255  # call_records.ivr_path; a longer path keeps its start and ends in ">~"
HOTLINE_DRAFT_ID = "HOTLINE_DRAFT_ID"  # draft made from the caller's recording (screen pop)
HOTLINE_TICKET_ID = "HOTLINE_TICKET_ID"  # ticket linked to the call (repeat caller, progress query)


def clip_path(text: str) -> str:
    """An IVR path as stored: at most IVR_PATH_MAX_LENGTH characters (whoever set the variable)."""
    return text if len(text) <= IVR_PATH_MAX_LENGTH else text[: IVR_PATH_MAX_LENGTH - 2] + ">~"

# What Asterisk (AMI CallerIDNum/CallerIDName, AGI agi_callerid) says when there is no caller ID.
UNKNOWN_CALLER_IDS = frozenset({"", "unknown", "anonymous", "<unknown>"})


def known_caller_id(value: str | None) -> str | None:
    """A caller number or name, or None where telephony reports none."""
    return None if value is None or value.lower() in UNKNOWN_CALLER_IDS else value
