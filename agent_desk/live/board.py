"""The desk's live board: the AMI live model's picture, and each queue's call KPIs.

The board reads the queues, waiting callers and members from `ami.model.LiveModel.snapshot()`, and
listens to the model's typed change events: every `CallUpdated` replaces that call's share of the
KPI tallies, so a caller redirected after an "abandon" becomes a transfer, and a timeout never
counts as an abandon. The figures follow the one definition in `ticketing.call_kpis`
(docs/metrics.md): per queue every leg, in the totals every call once with its last leg's outcome;
they are the figures `hotline ami replay` prints for the same calls. Abandoned calls (final outcome
`abandoned`) are listed for call-backs, newest first.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from ami.calldata import CallData
from ami.events import CallUpdated, ChangeEvent
from ami.model import RECENT_CALLS, LiveModel
from ami.state import AgentState, MemberState
from ami.state import QueueView as ModelQueue
from ticketing.call_kpis import CallFacts, CallKpis, CallKpiSettings, KpiBook
from ticketing.models import CallOutcome, utcnow

Mode = Literal["live", "replay", "offline"]
Key = tuple[str, str]


class WaitingCaller(BaseModel):
    uniqueid: str
    caller_number: str | None
    position: int
    since: datetime
    wait_seconds: float


class MemberView(BaseModel):
    interface: str
    name: str
    state: AgentState
    paused_reason: str | None
    calls_taken: int

    @classmethod
    def of(cls, member: MemberState) -> MemberView:
        return cls(interface=member.interface, name=member.name, state=member.state,
                   paused_reason=member.paused_reason, calls_taken=member.calls_taken)


class QueueFigures(CallKpis):
    """A queue's figures: its call KPIs since the board started, and how many wait and work now."""

    name: str
    waiting: int
    longest_wait_seconds: float
    logged_in: int
    available: int
    on_call: int
    paused: int


class QueueView(QueueFigures):
    """A queue's figures, with who waits and who works in it now."""

    callers: list[WaitingCaller]
    members: list[MemberView]


class AbandonedCall(BaseModel):
    server: str
    linkedid: str
    queue: str
    caller_number: str | None
    at: datetime
    wait_seconds: float


class LiveSnapshot(BaseModel):
    mode: Mode
    source: str | None
    at: datetime
    last_event_at: datetime | None
    stale: bool = False  # the figures may be old: the live feed (Redis, the telephony leader) is away
    queues: list[QueueView]
    abandoned: list[AbandonedCall]
    totals: QueueView


def _agents(views: Iterable[MemberView]) -> dict[str, int]:
    states = [v.state for v in views]
    return {"logged_in": len(states), "available": states.count("available"),
            "on_call": states.count("on_call") + states.count("ringing"), "paused": states.count("paused")}


class LiveBoard:
    def __init__(self, model: LiveModel | None = None, *, kpis: CallKpiSettings | None = None,
                 mode: Mode = "offline", source: str | None = None, abandoned_kept: int = 200,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.model = model or LiveModel()
        self.mode: Mode = mode
        self.source = source
        self._clock = clock
        self._book = KpiBook(kpis or CallKpiSettings())
        self._open: dict[Key, CallFacts] = {}
        # per server, as many ended calls as the model may still update (it re-emits only recent ones)
        self._final: defaultdict[str, OrderedDict[Key, CallFacts]] = defaultdict(OrderedDict)
        self._abandoned: OrderedDict[Key, AbandonedCall] = OrderedDict()
        self._abandoned_kept = abandoned_kept
        self._last_event_at: datetime | None = None
        self.model.listen(self._on_event)

    # ---- input: the model's change events -------------------------------------------------

    def _on_event(self, event: ChangeEvent) -> None:
        self._last_event_at = self._clock()
        if isinstance(event, CallUpdated):
            self._count(event.call)

    def _count(self, call: CallData) -> None:
        key = call.key
        facts = CallFacts.of(call.record_fields())
        ended = self._final[call.server]
        old = self._open.pop(key, None) or ended.pop(key, None)
        if old != facts:
            if old is not None:
                self._book.add(old, -1)
            self._book.add(facts)
        if call.final:
            ended[key] = facts
            if len(ended) > RECENT_CALLS:
                ended.popitem(last=False)
        else:
            self._open[key] = facts
        self._list_abandoned(call, facts)

    def _list_abandoned(self, call: CallData, facts: CallFacts) -> None:
        if not facts.legs or facts.outcome is not CallOutcome.ABANDONED:
            self._abandoned.pop(call.key, None)
            return
        if call.key in self._abandoned:
            return
        leg = call.legs[-1]
        self._abandoned[call.key] = AbandonedCall(
            server=call.server, linkedid=call.linkedid, queue=leg.queue, caller_number=call.caller_number,
            at=leg.left_at or self._clock(), wait_seconds=leg.wait_seconds or 0.0)
        if len(self._abandoned) > self._abandoned_kept:
            self._abandoned.popitem(last=False)

    # ---- output --------------------------------------------------------------------------

    def queue_views(self) -> Iterable[ModelQueue]:
        """The PBXs' queues now (a mirror board: as the telephony leaders last published them)."""
        return self.model.snapshot().queues

    @property
    def stale(self) -> bool:
        return False

    @property
    def last_event_at(self) -> datetime | None:
        return self._last_event_at

    def export(self) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]], list[AbandonedCall]]:
        """The KPI tallies (per call by final queue, per queue leg) and the abandoned list, as plain
        data: what a telephony leader publishes for the API processes (`agent_desk.live.fanout`)."""
        return ({name: dict(t.values) for name, t in self._book.calls.items()},
                {name: dict(t.values) for name, t in self._book.queues.items()},
                list(self._abandoned.values()))

    def replace(self, calls: dict[str, dict[str, float]], legs: dict[str, dict[str, float]],
                abandoned: Iterable[AbandonedCall], last_event_at: datetime | None) -> None:
        """Take the published tallies and abandoned list instead of counting (a mirror board)."""
        self._book = KpiBook(self._book.settings)
        for target, source in ((self._book.calls, calls), (self._book.queues, legs)):
            for name, values in source.items():
                tally = target[name]
                for counter, value in values.items():
                    tally.values[counter] = tally.values.get(counter, 0) + value
        self._abandoned = OrderedDict(((a.server, a.linkedid), a) for a in sorted(abandoned, key=lambda a: a.at))
        self._last_event_at = last_event_at

    def snapshot(self, queues: Callable[[str], bool] = lambda _name: True) -> LiveSnapshot:
        live: dict[str, list[ModelQueue]] = {}
        for view in self.queue_views():
            live.setdefault(view.name, []).append(view)
        names = sorted(n for n in set(live) | set(self._book.queues) | set(self._book.calls) if queues(n))
        views = [self._view(name, live.get(name, [])) for name in names]
        agents = {m.interface: m for v in views for m in v.members}
        totals = QueueView(
            **self._book.overall(queues).model_dump(), name="all", waiting=sum(v.waiting for v in views),
            longest_wait_seconds=max((v.longest_wait_seconds for v in views), default=0.0),
            callers=[], members=[], **_agents(agents.values()))
        return LiveSnapshot(mode=self.mode, source=self.source, at=self._clock(), stale=self.stale,
                            last_event_at=self._last_event_at, queues=views, totals=totals,
                            abandoned=[a for a in reversed(self._abandoned.values()) if queues(a.queue)])

    def members(self) -> dict[str, list[tuple[str, MemberView]]]:
        """interface → [(queue, member)] for every queue the interface is in."""
        result: dict[str, list[tuple[str, MemberView]]] = {}
        for queue in self.queue_views():
            for member in queue.members:
                result.setdefault(member.interface, []).append((queue.name, MemberView.of(member)))
        return result

    def _view(self, name: str, live: list[ModelQueue]) -> QueueView:
        callers = sorted((c for view in live for c in view.callers), key=lambda c: c.position)
        members = [MemberView.of(m) for view in live for m in view.members]
        tally = self._book.queues.get(name)
        return QueueView(
            **(tally.kpis() if tally is not None else CallKpis()).model_dump(), name=name,
            waiting=len(callers), longest_wait_seconds=round(max((c.wait_seconds for c in callers), default=0.0), 1),
            callers=[WaitingCaller(uniqueid=c.uniqueid, caller_number=c.caller_number, position=c.position,
                                   since=c.joined_at, wait_seconds=round(c.wait_seconds, 1)) for c in callers],
            members=members, **_agents(members))
