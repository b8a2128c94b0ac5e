"""The desk's live board: the AMI live model's picture, and each queue's call KPIs.

The board reads the queues, waiting callers and members from `ami.model.LiveModel.snapshot()`, and
listens to the model's typed change events: every `CallUpdated` replaces that call's share of the
KPI tallies, so a caller redirected after an "abandon" becomes a transfer, and a timeout never
counts as an abandon. The figures follow the one definition in `ticketing.call_kpis`
(docs/metrics.md): per queue every leg, in the totals every call once with its last leg's outcome;
they are the figures `hotline ami replay` prints for the same calls. The tallies are kept per PBX
(the call's server): the totals and each PBX's figures are one roll-up over different queues.
Abandoned calls (final outcome `abandoned`) are listed for call-backs, newest first.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal

from pydantic import BaseModel

from ami.calldata import CallData
from ami.events import CallUpdated, ChangeEvent
from ami.model import RECENT_CALLS, LiveModel
from ami.state import AgentState, MemberState
from ami.state import QueueView as ModelQueue
from ticketing.call_kpis import CallFacts, CallKpis, CallKpiSettings, KpiBook, Tally
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
    """A queue's figures: its call KPIs today (calls that entered a queue since local midnight, when the
    board knows the hotline's zone), and how many wait and work now."""

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


class PbxFigures(QueueFigures):
    """One PBX's figures (`name` is the PBX's), the same as the totals but over its queues only."""

    city_code: str | None  # the city it serves (`ami.servers[].city_code`); None: the province's


class LiveSnapshot(BaseModel):
    mode: Mode
    source: str | None
    at: datetime
    last_event_at: datetime | None
    stale: bool = False  # the figures may be old: the live feed (Redis, the telephony leader) is away
    queues: list[QueueView]
    abandoned: list[AbandonedCall]
    totals: QueueView
    pbx: list[PbxFigures]


Tallies = dict[str, dict[str, dict[str, float]]]  # PBX → queue → counter → value
Visible = Callable[[str], bool]


def _everything(_name: str) -> bool:
    return True


def _agents(views: Iterable[MemberView]) -> dict[str, int]:
    states = [v.state for v in views]
    return {"logged_in": len(states), "available": states.count("available"),
            "on_call": states.count("on_call") + states.count("ringing"), "paused": states.count("paused")}


class LiveBoard:
    def __init__(self, model: LiveModel | None = None, *, kpis: CallKpiSettings | None = None,
                 mode: Mode = "offline", source: str | None = None, cities: Mapping[str, str] | None = None,
                 abandoned_kept: int = 200, clock: Callable[[], datetime] = utcnow,
                 zone: tzinfo | None = None) -> None:
        self.model = model or LiveModel()
        self.mode: Mode = mode
        self.source = source
        self.cities = dict(cities or {})  # PBX → the city it serves
        self._clock = clock
        self._kpis = kpis or CallKpiSettings()
        self._books: dict[str, KpiBook] = {}  # per PBX
        self._open: dict[Key, CallFacts] = {}
        # per server, as many ended calls as the model may still update (it re-emits only recent ones)
        self._final: defaultdict[str, OrderedDict[Key, CallFacts]] = defaultdict(OrderedDict)
        self._abandoned: OrderedDict[Key, AbandonedCall] = OrderedDict()
        self._abandoned_kept = abandoned_kept
        self._last_event_at: datetime | None = None
        self._zone = zone  # None: no day boundary (a mirror board shows the leader's counts)
        self._day_start = self._day_end = self._clock()
        self._roll()
        self.model.listen(self._on_event)

    def _roll(self) -> None:
        """At local midnight the counts start again from zero, as every figure of "today" does; a call
        that entered a queue before midnight stays yesterday's, even when it ends today. The
        abandoned list is a call-back work list, not a count: it is kept."""
        if self._zone is None:
            return
        now = self._clock()
        if now < self._day_end:
            return
        local = now.astimezone(self._zone)
        self._day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        self._day_end = self._day_start + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
        self._books.clear()
        self._open.clear()
        self._final.clear()

    def _before_today(self, facts: CallFacts) -> bool:
        return self._zone is not None and facts.entered_at is not None and facts.entered_at < self._day_start

    def _book(self, server: str) -> KpiBook:
        book = self._books.get(server)
        if book is None:
            book = self._books[server] = KpiBook(self._kpis)
        return book

    # ---- input: the model's change events -------------------------------------------------

    def _on_event(self, event: ChangeEvent) -> None:
        self._last_event_at = self._clock()
        if isinstance(event, CallUpdated):
            self._count(event.call)

    def _count(self, call: CallData) -> None:
        facts = CallFacts.of(call.record_fields())
        self._take(call.server, call.linkedid, facts, call.final)
        self._list_abandoned(call.server, call.linkedid, call.caller_number, call.legs, facts)

    def _take(self, server: str, linkedid: str, facts: CallFacts, final: bool) -> None:
        self._roll()
        if self._before_today(facts):
            return
        key = (server, linkedid)
        ended = self._final[server]
        old = self._open.pop(key, None) or ended.pop(key, None)
        if old != facts:
            if old is not None:
                self._book(server).add(old, -1)
            self._book(server).add(facts)
        if final:
            ended[key] = facts
            if len(ended) > RECENT_CALLS:
                ended.popitem(last=False)
        else:
            self._open[key] = facts

    def recount(self, servers: Iterable[str], records: Iterable[Any]) -> None:
        """Start these PBXs' counts over from stored call records (ORM `CallRecord`s with their legs):
        a telephony leader starting its term counts today's calls from what was stored before it,
        and the model's later updates of those calls replace their share, as for any call."""
        for server in servers:
            self._books.pop(server, None)
            self._final.pop(server, None)
            self._open = {key: facts for key, facts in self._open.items() if key[0] != server}
            self._abandoned = OrderedDict((k, a) for k, a in self._abandoned.items() if k[0] != server)
        for record in records:  # oldest first: the abandoned list keeps its order
            facts = CallFacts.of(record)
            self._take(record.server, record.linkedid, facts, record.final)
            self._list_abandoned(record.server, record.linkedid, record.caller_number, record.legs, facts)

    def _list_abandoned(self, server: str, linkedid: str, caller_number: str | None, legs: Sequence[Any],
                        facts: CallFacts) -> None:
        """`legs`: the call's queue legs (the model's `QueueLeg`s or stored `CallLeg`s)."""
        key = (server, linkedid)
        if not facts.legs or facts.outcome is not CallOutcome.ABANDONED:
            self._abandoned.pop(key, None)
            return
        if key in self._abandoned:
            return
        leg = legs[-1]
        self._abandoned[key] = AbandonedCall(server=server, linkedid=linkedid, queue=leg.queue,
                                             caller_number=caller_number, at=leg.left_at or self._clock(),
                                             wait_seconds=leg.wait_seconds or 0.0)
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

    def export(self) -> tuple[Tallies, Tallies, list[AbandonedCall]]:
        """The KPI tallies per PBX (per call by final queue, per queue leg) and the abandoned list, as
        plain data: what a telephony leader publishes for the API processes (`agent_desk.live.fanout`)."""
        self._roll()
        return ({pbx: {name: dict(t.values) for name, t in book.calls.items()} for pbx, book in self._books.items()},
                {pbx: {name: dict(t.values) for name, t in book.queues.items()} for pbx, book in self._books.items()},
                list(self._abandoned.values()))

    def replace(self, calls: Tallies, legs: Tallies, abandoned: Iterable[AbandonedCall],
                last_event_at: datetime | None) -> None:
        """Take the published tallies and abandoned list instead of counting (a mirror board)."""
        self._books = {}
        for pbx in {*calls, *legs}:
            book = self._book(pbx)
            for target, source in ((book.calls, calls.get(pbx, {})), (book.queues, legs.get(pbx, {}))):
                for name, values in source.items():
                    tally = target[name]
                    for counter, value in values.items():
                        tally.values[counter] = tally.values.get(counter, 0) + value
        self._abandoned = OrderedDict(((a.server, a.linkedid), a) for a in sorted(abandoned, key=lambda a: a.at))
        self._last_event_at = last_event_at

    def snapshot(self, queues: Visible = _everything, pbx: Visible = _everything) -> LiveSnapshot:
        """The figures over the queues `queues` accepts of the PBXs `pbx` accepts: each queue (over
        those PBXs), the totals, and each PBX's own."""
        self._roll()
        every = list(self.queue_views())
        live = [view for view in every if pbx(view.server) and queues(view.name)]
        books = {name: book for name, book in self._books.items() if pbx(name)}
        by_name: dict[str, list[ModelQueue]] = {}
        for view in live:
            by_name.setdefault(view.name, []).append(view)
        known = {name for book in books.values() for name in (*book.queues, *book.calls)}
        views = [self._view(name, by_name.get(name, []), books.values())
                 for name in sorted(n for n in set(by_name) | known if queues(n))]
        totals = self._rollup("all", live, books.values(), queues)
        servers = [name for name in self._pbx_names(every) if pbx(name)]
        per_pbx = [PbxFigures(**self._rollup(server, [v for v in live if v.server == server],
                                             [books[server]] if server in books else [], queues).model_dump(),
                              city_code=self.cities.get(server)) for server in servers]
        return LiveSnapshot(mode=self.mode, source=self.source, at=self._clock(), stale=self.stale,
                            last_event_at=self._last_event_at, queues=views,
                            totals=QueueView(**totals.model_dump(), callers=[], members=[]), pbx=per_pbx,
                            abandoned=[a for a in reversed(self._abandoned.values())
                                       if pbx(a.server) and queues(a.queue)])

    def pbx_names(self) -> list[str]:
        """The PBXs the board has seen: their queues, or their calls."""
        return self._pbx_names(self.queue_views())

    def _pbx_names(self, views: Iterable[ModelQueue]) -> list[str]:
        return sorted({view.server for view in views} | set(self._books))

    def members(self) -> dict[str, list[tuple[str, MemberView]]]:
        """interface → [(queue, member)] for every queue the interface is in."""
        result: dict[str, list[tuple[str, MemberView]]] = {}
        for queue in self.queue_views():
            for member in queue.members:
                result.setdefault(member.interface, []).append((queue.name, MemberView.of(member)))
        return result

    def _rollup(self, name: str, live: list[ModelQueue], books: Iterable[KpiBook], queues: Visible) -> QueueFigures:
        """The figures of several queues together (the totals, a PBX's): every call once, each agent
        once (an interface on one PBX), the callers of all."""
        kpis = Tally.sum((book.overall(queues) for book in books), self._kpis).kpis()
        agents = {(view.server, m.interface): MemberView.of(m) for view in live for m in view.members}
        waits = [c.wait_seconds for view in live for c in view.callers]
        return QueueFigures(**kpis.model_dump(), name=name, waiting=len(waits),
                            longest_wait_seconds=round(max(waits, default=0.0), 1), **_agents(agents.values()))

    def _view(self, name: str, live: list[ModelQueue], books: Iterable[KpiBook]) -> QueueView:
        callers = sorted((c for view in live for c in view.callers), key=lambda c: c.position)
        members = [MemberView.of(m) for view in live for m in view.members]
        tally = Tally.sum((book.queues[name] for book in books if name in book.queues), self._kpis)
        return QueueView(
            **tally.kpis().model_dump(), name=name,
            waiting=len(callers), longest_wait_seconds=round(max((c.wait_seconds for c in callers), default=0.0), 1),
            callers=[WaitingCaller(uniqueid=c.uniqueid, caller_number=c.caller_number, position=c.position,
                                   since=c.joined_at, wait_seconds=round(c.wait_seconds, 1)) for c in callers],
            members=members, **_agents(members))
