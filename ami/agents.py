"""Per-agent working time: logged-in time and pause time by reason, from member events; and each
queue membership as it starts and ends (`Membership`, what the desk stores for staffing reports).

An agent is logged in while it is a member of at least one queue, and paused while paused in at
least one queue (a pause "in all queues" arrives as one QueueMemberPause per queue). Times come
from Asterisk's own epochs (`LoginTime`, `LastPause`) when present, else from the model's clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Membership:
    """One stay of a member in a queue: the columns of `ticketing.models.AgentMembership`.
    `logged_out_at` is None while it lasts."""

    server: str
    queue: str
    interface: str
    member_name: str
    logged_in_at: datetime
    logged_out_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str, datetime]:
        return self.server, self.queue, self.interface, self.logged_in_at

    def record_fields(self) -> dict[str, Any]:
        return asdict(self)


MembershipSink = Callable[[Membership], None]


@dataclass
class AgentActivity:
    agent: str
    login_seconds: float = 0.0
    pause_seconds: dict[str, float] = field(default_factory=dict)
    logged_in_since: datetime | None = None
    paused_since: datetime | None = None
    pause_reason: str | None = None
    queues: set[str] = field(default_factory=set)
    paused_queues: set[str] = field(default_factory=set)

    def totals(self, now: datetime) -> dict[str, object]:
        login = self.login_seconds
        if self.logged_in_since is not None:
            login += max(0.0, (now - self.logged_in_since).total_seconds())
        pauses = dict(self.pause_seconds)
        if self.paused_since is not None:
            reason = self.pause_reason or ""
            pauses[reason] = pauses.get(reason, 0.0) + max(0.0, (now - self.paused_since).total_seconds())
        return {"agent": self.agent, "login_seconds": login, "pause_seconds": pauses,
                "paused_total_seconds": sum(pauses.values())}


class AgentLedger:
    def __init__(self) -> None:
        self.agents: dict[str, AgentActivity] = defaultdict(lambda: AgentActivity(""))

    def _get(self, agent: str) -> AgentActivity:
        activity = self.agents.get(agent)
        if activity is None:
            activity = self.agents[agent] = AgentActivity(agent)
        return activity

    def logged_in(self, agent: str, queue: str, at: datetime) -> None:
        activity = self._get(agent)
        if not activity.queues:
            activity.logged_in_since = at
        activity.queues.add(queue)

    def logged_out(self, agent: str, queue: str, at: datetime) -> None:
        activity = self._get(agent)
        activity.queues.discard(queue)
        self.paused(agent, queue, False, None, at)
        if not activity.queues and activity.logged_in_since is not None:
            activity.login_seconds += max(0.0, (at - activity.logged_in_since).total_seconds())
            activity.logged_in_since = None

    def paused(self, agent: str, queue: str, paused: bool, reason: str | None, at: datetime) -> None:
        activity = self._get(agent)
        if paused:
            if not activity.paused_queues:
                activity.paused_since = at
                activity.pause_reason = reason or ""
            activity.paused_queues.add(queue)
            return
        if queue not in activity.paused_queues:
            return
        activity.paused_queues.discard(queue)
        if not activity.paused_queues and activity.paused_since is not None:
            reason_key = activity.pause_reason or ""
            spent = max(0.0, (at - activity.paused_since).total_seconds())
            activity.pause_seconds[reason_key] = activity.pause_seconds.get(reason_key, 0.0) + spent
            activity.paused_since = None
            activity.pause_reason = None

    def report(self, now: datetime) -> list[dict[str, object]]:
        return [self.agents[name].totals(now) for name in sorted(self.agents)]
