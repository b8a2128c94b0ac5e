"""Call KPIs, each defined once: counted in Python (a replay, the live board) and in SQL (stored
calls) from the same declaration. docs/metrics.md writes the definitions out.

Two levels share the counters:
- **per queue** (and per agent) every queue *leg* counts, as Asterisk counts: a call redirected from
  queue A to queue B is offered in both, a transfer out of A and its own outcome in B;
- **per call** (overall, per hour or day) every call that entered a queue counts once, with its
  last leg's outcome, wait and talk time: the final outcome, the wait in the answering queue.

A counter is a field of `CallCounts` whose `Count` says which legs or calls it counts and what it
sums. Counters add up across queues, servers and days; every rate comes from counters through
`CallKpis.of`, so any roll-up computes rates the same way.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Label,
    True_,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from ticketing.models import CallLeg, CallOutcome, CallRecord, CallRollup, CallRollupBasis
from ticketing.sqlfunc import local_bucket

ANSWERED, ABANDONED = CallOutcome.ANSWERED, CallOutcome.ABANDONED


@dataclass(frozen=True)
class CallKpiSettings:
    service_level_seconds: float = 20.0
    short_abandon_seconds: float = 5.0
    wrapup_seconds: float = 0.0
    timely_seconds: ClassVar[float] = 15.0  # 人工应答及时率 is defined at 15 s nationally


SECONDS = ("wait", "talk")  # what a Count may sum besides whole legs or calls


@dataclass(frozen=True)
class Count:
    """Counts the legs (or calls) whose outcome is one of `outcomes` (all when None; None in it: still
    in the queue) and whose wait is under / at most the named threshold; sums 1, the wait, the talk
    time, or 1 where a talk time is known (`talked`). An unknown wait counts as 0, as Asterisk's."""

    outcomes: tuple[CallOutcome | None, ...] | None = None
    wait_below: str | None = None
    wait_at_most: str | None = None
    sums: Literal["one", "wait", "talk", "talked"] = "one"

    def value(self, outcome: CallOutcome | None, wait: float | None, talk: float | None,
              settings: CallKpiSettings) -> float:
        if self.outcomes is not None and outcome not in self.outcomes:
            return 0
        waited = wait or 0.0
        if self.wait_below is not None and not waited < getattr(settings, self.wait_below):
            return 0
        if self.wait_at_most is not None and not waited <= getattr(settings, self.wait_at_most):
            return 0
        if self.sums == "wait":
            return waited
        if self.sums == "talk":
            return talk or 0.0
        return 1 if self.sums == "one" or talk is not None else 0

    def sql(self, outcome: Any, wait: Any, talk: Any, settings: CallKpiSettings,
            micro: bool = False) -> ColumnElement[Any]:
        """The sum over rows; `micro`: seconds summed as whole microseconds of each row (the roll-ups')."""
        waited = func.coalesce(wait, 0)
        conditions: list[ColumnElement[bool]] = []
        if self.outcomes is not None:
            known = [o for o in self.outcomes if o is not None]
            either = [outcome.in_(known)] if known else []
            conditions.append(or_(*either, *([outcome.is_(None)] if None in self.outcomes else [])))
        if self.wait_below is not None:
            conditions.append(waited < getattr(settings, self.wait_below))
        if self.wait_at_most is not None:
            conditions.append(waited <= getattr(settings, self.wait_at_most))
        if self.sums == "talked":
            conditions.append(talk.is_not(None))
        summed: ColumnElement[Any] = {"wait": waited, "talk": func.coalesce(talk, 0)}.get(self.sums, literal(1))
        if micro and self.sums in SECONDS:
            summed = cast(func.round(summed * 1_000_000), BigInteger)
        return func.coalesce(func.sum(case((and_(true(), *conditions), summed), else_=0)), 0)


class CallCounts(BaseModel):
    """The additive counters; docs/metrics.md states each description as it is here."""

    offered: Annotated[int, Count()] = Field(0, description=(
        "legs (per queue) or calls (overall) that entered the queue"))
    answered: Annotated[int, Count((ANSWERED,))] = Field(0, description="answered by a member")
    abandoned: Annotated[int, Count((ABANDONED,))] = Field(0, description="the caller hung up while waiting")
    short_abandoned: Annotated[int, Count((ABANDONED,), wait_below="short_abandon_seconds")] = Field(
        0, description="abandoned with a wait under short_abandon_seconds")
    timeout: Annotated[int, Count((CallOutcome.TIMEOUT,))] = Field(0, description=(
        "the queue gave up (Queue() timeout, leave-when-empty): not an abandon"))
    exit_with_key: Annotated[int, Count((CallOutcome.EXIT_WITH_KEY,))] = Field(0, description=(
        "the caller left by a key (EXITWITHKEY): not an abandon"))
    transferred: Annotated[int, Count((CallOutcome.TRANSFERRED,))] = Field(0, description=(
        "redirected out of the queue while waiting (a leg: counted again where it went)"))
    unknown: Annotated[int, Count((CallOutcome.UNKNOWN,))] = Field(0, description=(
        "ended while the AMI link was down"))
    in_queue: Annotated[int, Count((None,))] = Field(0, description="still waiting: no outcome yet")
    answered_within_15s: Annotated[int, Count((ANSWERED,), wait_at_most="timely_seconds")] = Field(
        0, description="answered with a wait ≤ 15 s")
    answered_within_sl: Annotated[int, Count((ANSWERED,), wait_at_most="service_level_seconds")] = Field(
        0, description="answered with a wait ≤ T (service_level_seconds)")
    abandoned_within_sl: Annotated[int, Count((ABANDONED,), wait_at_most="service_level_seconds")] = Field(
        0, description="abandoned with a wait ≤ T")
    answered_wait_seconds: Annotated[float, Count((ANSWERED,), sums="wait")] = Field(0.0, description=(
        "the summed wait of the answered, in the answering queue"))
    talk_seconds: Annotated[float, Count((ANSWERED,), sums="talk")] = Field(
        0.0, description="the summed talk time of the answered")
    talked: Annotated[int, Count((ANSWERED,), sums="talked")] = Field(
        0, description="answered with a known talk time")


COUNTS: dict[str, Count] = {
    name: next(m for m in info.metadata if isinstance(m, Count))
    for name, info in CallCounts.model_fields.items()
}


def _ratio(part: float, whole: float, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole > 0 else None


class CallKpis(CallCounts):
    """Counters and the rates derived from them (null where the divisor is 0)."""

    answer_rate: float | None = Field(None, description=(
        "接通率: answered ÷ (answered + abandoned − short_abandoned + timeout + exit_with_key)"))
    raw_answer_rate: float | None = Field(None, description="answered ÷ (offered − in_queue)")
    answered_within_15s_rate: float | None = Field(None, description=(
        "人工应答及时率: answered_within_15s ÷ answered"))
    service_level: float | None = Field(None, description=(
        "answered_within_sl ÷ answered, as Asterisk's servicelevel"))
    service_level2: float | None = Field(None, description=(
        "(answered_within_sl + abandoned_within_sl) ÷ (answered + abandoned), as Asterisk's ServicelevelPerf2"))
    asa_seconds: float | None = Field(None, description=(
        "answered_wait_seconds ÷ answered: the mean wait in the answering queue"))
    aht_seconds: float | None = Field(None, description="talk_seconds ÷ talked + wrapup_seconds")

    @classmethod
    def of(cls, counts: CallCounts, settings: CallKpiSettings) -> CallKpis:
        c = counts
        decided = c.answered + c.abandoned + c.timeout + c.exit_with_key
        aht = _ratio(c.talk_seconds, c.talked, 2)
        return cls(
            **c.model_dump(),
            answer_rate=_ratio(c.answered, decided - c.short_abandoned),
            raw_answer_rate=_ratio(c.answered, c.offered - c.in_queue),
            answered_within_15s_rate=_ratio(c.answered_within_15s, c.answered),
            service_level=_ratio(c.answered_within_sl, c.answered),
            service_level2=_ratio(c.answered_within_sl + c.abandoned_within_sl, c.answered + c.abandoned),
            asa_seconds=_ratio(c.answered_wait_seconds, c.answered, 2),
            aht_seconds=None if aht is None else round(aht + settings.wrapup_seconds, 2),
        )


class _Key(BaseModel):
    key: str | None = Field(None, description="the queue, agent, local hour, day, hour of the day or PBX; "
                            "null: overall")


class KeyedCallKpis(CallKpis, _Key):
    """One row of a breakdown: `key` (the first column) is the queue, agent, hour, day or PBX; None: overall."""


# ---------------------------------------------------------------------------------- in Python

Outcome = CallOutcome | None


class Tally:
    """Counters kept in Python; `add(..., sign=-1)` takes a leg or call back out (live updates)."""

    __slots__ = ("settings", "values")

    def __init__(self, settings: CallKpiSettings) -> None:
        self.settings = settings
        self.values: dict[str, float] = dict.fromkeys(COUNTS, 0)

    def add(self, outcome: Outcome, wait: float | None, talk: float | None, sign: int = 1) -> None:
        values, settings = self.values, self.settings
        for name, count in COUNTS.items():
            amount = count.value(outcome, wait, talk, settings)
            if amount:
                values[name] += sign * amount

    def kpis(self) -> CallKpis:
        return CallKpis.of(CallCounts.model_validate(self.values), self.settings)

    @classmethod
    def sum(cls, tallies: Iterable[Tally], settings: CallKpiSettings) -> Tally:
        """The counters of several tallies added up (queues, servers): rates follow from the sums."""
        total = cls(settings)
        for tally in tallies:
            for counter, value in tally.values.items():
                total.values[counter] += value
        return total


@dataclass(frozen=True, slots=True)
class LegFacts:
    queue: str
    agent: str | None
    outcome: Outcome
    wait: float | None
    talk: float | None


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the KPIs read of one call: its last leg's outcome, wait and talk, and every leg. A call
    still up whose outcome is `unknown` is undecided: still in the queue (outcome None)."""

    outcome: Outcome
    wait: float | None
    talk: float | None
    entered_at: datetime | None
    legs: tuple[LegFacts, ...]

    @classmethod
    def of(cls, record: Any) -> CallFacts:
        """From an ORM `CallRecord` or a mapping with its columns (`legs`: mappings or `CallLeg`s)."""
        legs = tuple(LegFacts(_get(leg, "queue"), _get(leg, "agent"), _outcome(_get(leg, "outcome")),
                              _get(leg, "wait_seconds"), _get(leg, "talk_seconds"))
                     for leg in _get(record, "legs") or ())
        outcome = CallOutcome(_get(record, "outcome"))
        undecided = outcome is CallOutcome.UNKNOWN and not _get(record, "final")
        return cls(None if undecided else outcome, _get(record, "wait_seconds"),
                   _get(record, "talk_seconds"), _get(record, "entered_at"), legs)


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, Mapping) else getattr(item, key)


def _outcome(value: Any) -> Outcome:
    return None if value is None else CallOutcome(value)


class CallDimension(enum.StrEnum):
    QUEUE = "queue"
    AGENT = "agent"
    HOUR = "hour"
    DAY = "day"
    HOUR_OF_DAY = "hour_of_day"  # 09:00 over every day of the period: the staffing profile
    PBX = "pbx"  # the PBX (call record server) that took the call


def bucket_of(moment: datetime, unit: Literal["hour", "day"], utc_offset_hours: int) -> str:
    """The local hour or day a moment falls in, as text: the keys `local_bucket` gives in SQL."""
    local = moment + timedelta(hours=utc_offset_hours)
    return local.strftime("%Y-%m-%d" if unit == "day" else "%Y-%m-%dT%H:00")


@dataclass
class KpiBook:
    """Tallies per call (under the queue it ended in, and per local hour), per queue leg and per
    answering agent."""

    settings: CallKpiSettings = field(default_factory=CallKpiSettings)
    utc_offset_hours: int = 8
    calls: defaultdict[str, Tally] = field(init=False)
    queues: defaultdict[str, Tally] = field(init=False)
    agents: defaultdict[str, Tally] = field(init=False)
    hours: defaultdict[str, Tally] = field(init=False)

    def __post_init__(self) -> None:
        self.calls, self.queues, self.agents, self.hours = (
            defaultdict(lambda: Tally(self.settings)) for _ in range(4))

    def add(self, call: CallFacts, sign: int = 1) -> None:
        """Count a call that entered a queue (one that never did is not offered)."""
        if not call.legs:
            return
        self.calls[call.legs[-1].queue].add(call.outcome, call.wait, call.talk, sign)
        if call.entered_at is not None:
            hour = bucket_of(call.entered_at, "hour", self.utc_offset_hours)
            self.hours[hour].add(call.outcome, call.wait, call.talk, sign)
        for leg in call.legs:
            self.queues[leg.queue].add(leg.outcome, leg.wait, leg.talk, sign)
            if leg.outcome is ANSWERED and leg.agent:
                self.agents[leg.agent].add(leg.outcome, leg.wait, leg.talk, sign)

    def overall(self, queues: Callable[[str], bool] = lambda _name: True) -> Tally:
        """Per call, over the calls that ended in the queues `queues` accepts (all by default)."""
        return Tally.sum((tally for name, tally in self.calls.items() if queues(name)), self.settings)


class CallKpiReport(BaseModel):
    overall: CallKpis
    queues: dict[str, CallKpis]
    agents: dict[str, CallKpis]
    hours: dict[str, CallKpis]
    abandoned_calls: list[dict[str, Any]]


def compute_call_kpis(records: Iterable[Any], *, settings: CallKpiSettings | None = None,
                      utc_offset_hours: int = 8) -> CallKpiReport:
    """KPIs over call records (ORM `CallRecord`s or mappings with their columns), in Python."""
    book = KpiBook(settings or CallKpiSettings(), utc_offset_hours)
    abandoned = []
    for record in records:
        facts = CallFacts.of(record)
        book.add(facts)
        if facts.legs and facts.outcome is ABANDONED:
            abandoned.append({key: _get(record, key) for key in (
                "server", "linkedid", "caller_number", "queue", "entered_at", "wait_seconds")})

    def each(tallies: Mapping[str, Tally]) -> dict[str, CallKpis]:
        return {name: tally.kpis() for name, tally in sorted(tallies.items())}

    return CallKpiReport(overall=book.overall().kpis(), queues=each(book.queues), agents=each(book.agents),
                         hours=each(book.hours), abandoned_calls=abandoned)


# ---------------------------------------------------------------------------------- in SQL

def sum_columns(outcome: Any, wait: Any, talk: Any, settings: CallKpiSettings,
                 micro: bool = False) -> list[Label[Any]]:
    return [count.sql(outcome, wait, talk, settings, micro).label(name) for name, count in COUNTS.items()]


def decided_outcome() -> ColumnElement[Any]:
    """A stored call's outcome as the KPIs count it: NULL (still in the queue) while undecided, as `CallFacts`."""
    undecided = and_(CallRecord.final.is_(False), CallRecord.outcome == CallOutcome.UNKNOWN)
    return case((undecided, null()), else_=CallRecord.outcome)


@dataclass(frozen=True)
class RollupBasis:
    """What the call roll-ups are counted with: the calendar's UTC offset of their hours and the
    thresholds (the defaults until `hotline kpi rebuild` stores others)."""

    utc_offset_hours: int = 8
    service_level_seconds: float = CallKpiSettings.service_level_seconds
    short_abandon_seconds: float = CallKpiSettings.short_abandon_seconds

    def settings(self) -> CallKpiSettings:
        return CallKpiSettings(service_level_seconds=self.service_level_seconds,
                               short_abandon_seconds=self.short_abandon_seconds)


async def rollup_basis(session: AsyncSession | AsyncConnection, *, lock: bool = False) -> RollupBasis:
    """The stored basis; `lock`: shared, so a rebuild that changes it waits for this transaction."""
    query = select(CallRollupBasis.utc_offset_hours, CallRollupBasis.service_level_seconds,
                   CallRollupBasis.short_abandon_seconds).where(CallRollupBasis.id == 1)
    row = (await session.execute(query.with_for_update(read=True) if lock else query)).first()
    return RollupBasis() if row is None else RollupBasis(int(row[0]), float(row[1]), float(row[2]))


_Folded = dict[str | None, dict[str, float]]


async def call_kpis(session: AsyncSession, *, since: datetime, until: datetime,
                    settings: CallKpiSettings, by: CallDimension | None = None,
                    scope: ColumnElement[bool] | None = None,
                    utc_offset_hours: int = 8, rollups: bool = True) -> list[KeyedCallKpis]:
    """The same KPIs over stored calls: per queue and per agent over `call_legs`, overall and per
    hour, day or PBX over `call_records`.

    The whole hours of the period come from the hourly roll-ups (`ticketing.call_rollups`, kept by
    the call store in the transaction of each write) when they were counted with these thresholds
    and this UTC offset and every call is visible; the rest, and a `scope` (who may see, which PBX)
    that is not everything, from one GROUP BY over the calls. `rollups=False`: that GROUP BY only,
    the definition the roll-ups are tested and measured against."""
    folded: _Folded = {}
    whole = await _whole_hours(session, since, until, settings, scope, utc_offset_hours) if rollups else None
    if whole is None:
        await _fold_calls(session, folded, since, until, settings, by, scope, utc_offset_hours)
    else:
        first, end = whole
        await _fold_rollups(session, folded, first, end, by, utc_offset_hours)
        for lo, hi in ((since, first), (end, until)):
            if lo < hi:
                await _fold_calls(session, folded, lo, hi, settings, by, scope, utc_offset_hours)
    if by is None:
        folded.setdefault(None, dict.fromkeys(COUNTS, 0.0))
    return [KeyedCallKpis(key=key, **CallKpis.of(CallCounts.model_validate(
                {name: value if COUNTS[name].sums in SECONDS else round(value) for name, value in counts.items()}),
                settings).model_dump())
            for key, counts in sorted(folded.items(), key=lambda kv: kv[0] or "")]


async def _whole_hours(session: AsyncSession, since: datetime, until: datetime, settings: CallKpiSettings,
                       scope: ColumnElement[bool] | None, utc_offset_hours: int) -> tuple[datetime, datetime] | None:
    """The whole hours [first, end) of the period the roll-ups can answer; None: none can."""
    if scope is not None and not isinstance(scope, True_):
        return None
    start = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = start if start == since else start + timedelta(hours=1)
    end = until.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if end <= first:
        return None
    basis = await rollup_basis(session)
    wanted = RollupBasis(utc_offset_hours, settings.service_level_seconds, settings.short_abandon_seconds)
    return (first, end) if basis == wanted else None


def _add(folded: _Folded, key: Any, values: Any, scale: Mapping[str, float]) -> None:
    acc = folded.setdefault(None if key is None else str(key), dict.fromkeys(COUNTS, 0.0))
    for name in COUNTS:
        acc[name] += float(values[name] or 0) * scale.get(name, 1.0)


_MICRO = {name: 1e-6 for name, count in COUNTS.items() if count.sums in SECONDS}


# The roll-ups' levels (`ticketing.call_rollups` keeps them): per call, per queue leg, per answered
# leg and agent; each per local hour, per local day at the level + DAILY and per local month at the
# level + MONTHLY, so a year reads twelve months and the days and hours at either end.
CALLS, LEGS, AGENTS = LEVELS = (0, 1, 2)
DAILY = len(LEVELS)
MONTHLY = 2 * len(LEVELS)
_LEVEL_OF = {CallDimension.QUEUE: LEGS, CallDimension.AGENT: AGENTS}


def _spans(first: datetime, end: datetime, by: CallDimension | None, utc_offset_hours: int) -> list[_Span]:
    """The roll-up rows covering the whole hours [first, end): whole local months from the monthly rows
    (unless grouped by day or hour), the other whole local days from the daily rows (unless grouped by
    hour), the hours before and after them from the hourly rows."""
    level = CALLS if by is None else _LEVEL_OF.get(by, CALLS)
    zone = timezone(timedelta(hours=utc_offset_hours))

    def text(moment: datetime, unit: Literal["hour", "day"]) -> str:
        return bucket_of(moment.astimezone(UTC), unit, utc_offset_hours)

    def whole(start: datetime, stop: datetime, unit: Literal["day", "month"]) -> tuple[datetime, datetime]:
        """The first and the end of the whole local days or months in [start, stop)."""
        def floor(moment: datetime) -> datetime:
            local = moment.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
            return local.replace(day=1) if unit == "month" else local

        def after(moment: datetime) -> datetime:
            return (moment + timedelta(days=32)).replace(day=1) if unit == "month" else moment + timedelta(days=1)

        low = floor(start)
        return (low if low == start else after(low)), floor(stop)

    if by in (CallDimension.HOUR, CallDimension.HOUR_OF_DAY):
        return [(level, text(first, "hour"), text(end, "hour"))]
    first_day, end_day = whole(first, end, "day")
    if end_day <= first_day:
        return [(level, text(first, "hour"), text(end, "hour"))]
    first_month, end_month = whole(first_day, end_day, "month")
    spans: list[_Span] = []
    if by is not CallDimension.DAY and first_month < end_month:
        spans.append((level + MONTHLY, text(first_month, "day")[:7], text(end_month, "day")[:7]))
        days = [(first_day, first_month), (end_month, end_day)]
    else:
        days = [(first_day, end_day)]
    spans += [(level + DAILY, text(lo, "day"), text(hi, "day")) for lo, hi in days if lo < hi]
    spans += [(level, text(lo, "hour"), text(hi, "hour")) for lo, hi in ((first, first_day), (end_day, end)) if lo < hi]
    return spans


_Span = tuple[int, str, str]  # level, first period, end period (exclusive)


async def _fold_rollups(session: AsyncSession, folded: _Folded, first: datetime, end: datetime,
                        by: CallDimension | None, utc_offset_hours: int) -> None:
    table = CallRollup
    key = {None: None, CallDimension.QUEUE: table.queue, CallDimension.AGENT: table.agent,
           CallDimension.HOUR: table.period, CallDimension.DAY: func.substr(table.period, 1, 10),
           CallDimension.HOUR_OF_DAY: func.substr(table.period, 12, 5), CallDimension.PBX: table.server}[by]
    spans = [and_(table.level == level, table.period >= lo, table.period < hi)
             for level, lo, hi in _spans(first, end, by, utc_offset_hours)]
    query = select(*([] if key is None else [key.label("key")]),
                   *(func.sum(getattr(table, name)).label(name) for name in COUNTS)).where(or_(*spans))
    if key is not None:
        query = query.group_by(key)
    for row in (await session.execute(query)).mappings():
        if row["offered"] is not None:  # no rows: an aggregate without GROUP BY still answers one
            _add(folded, row.get("key"), row, _MICRO)


async def _fold_calls(session: AsyncSession, folded: _Folded, since: datetime, until: datetime,
                      settings: CallKpiSettings, by: CallDimension | None, scope: ColumnElement[bool] | None,
                      utc_offset_hours: int) -> None:
    key: ColumnElement[Any] | InstrumentedAttribute[Any] | None
    if by in (CallDimension.QUEUE, CallDimension.AGENT):
        key = CallLeg.queue if by is CallDimension.QUEUE else CallLeg.agent
        query = select(key.label("key"), *sum_columns(
            CallLeg.outcome, CallLeg.wait_seconds, CallLeg.talk_seconds, settings)).join(
            CallRecord, CallLeg.call_id == CallRecord.id).where(
            CallLeg.entered_at >= since, CallLeg.entered_at < until)
        if by is CallDimension.AGENT:
            query = query.where(CallLeg.agent.is_not(None), CallLeg.outcome == ANSWERED)
    else:
        key = (None if by is None else CallRecord.server if by is CallDimension.PBX
               else local_bucket(CallRecord.entered_at, by.value, utc_offset_hours))
        sums = sum_columns(decided_outcome(), CallRecord.wait_seconds, CallRecord.talk_seconds, settings)
        query = select(*([] if key is None else [key.label("key")]), *sums).where(
            CallRecord.queue.is_not(None), CallRecord.entered_at >= since, CallRecord.entered_at < until)
    if scope is not None:
        query = query.where(scope)
    if key is not None:
        query = query.group_by(key)
    for row in (await session.execute(query)).mappings():
        _add(folded, row.get("key"), row, {})
