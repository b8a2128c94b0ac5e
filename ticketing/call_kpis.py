"""Telephony KPIs from stored call records (DESIGN §3), per queue, per agent and per time bucket.

Definitions:
- **Offered** = calls that entered a queue. Per queue, each queue visit (leg) counts: a call
  redirected from queue A to queue B is offered to both, and counts as *transferred* in A.
  Overall, each call counts once, with the outcome of the call.
- **Abandoned** = the caller hung up while waiting. A **short abandon** hung up after less than
  `short_abandon_seconds` (default 5 s) of waiting. **Timeouts** (the queue gave up: Queue()
  timeout, leave-when-empty) and **transfers** (Redirect out of the queue) are not abandons.
- **Answer rate (接通率)** = answered ÷ (offered − short abandons); **raw answer rate** =
  answered ÷ offered.
- **Answered within 15 s (人工应答及时率)** = answered with wait ≤ `timely_seconds` ÷ answered.
- **Service level** = answered with wait ≤ T ÷ answered (T = `service_level_seconds`, default 20,
  as Asterisk's `servicelevel`). **SL2** adds the abandons within T to both sides, as Asterisk's
  ServicelevelPerf2 does; Asterisk counts timeouts and redirects as abandons there, we do not.
- **ASA** = mean wait of answered calls. **AHT** = mean talk time plus `wrapup_seconds`.
- **Asterisk-compatible counters** per queue: `asterisk_completed` = answered legs whose agent
  hung up or completed, `asterisk_abandoned` = abandoned + timeout + transferred legs: these match
  Asterisk's own QueueParams Completed/Abandoned for the same calls.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

BUCKETS = {"15min": timedelta(minutes=15), "hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass
class KpiSettings:
    short_abandon_seconds: float = 5.0
    service_level_seconds: float = 20.0
    timely_seconds: float = 15.0
    wrapup_seconds: float = 0.0


@dataclass
class Tally:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    timeout: int = 0
    transferred: int = 0
    unknown: int = 0
    answered_timely: int = 0
    answered_in_sl: int = 0
    abandoned_in_sl: int = 0
    wait_answered_total: float = 0.0
    talk_total: float = 0.0
    talk_count: int = 0
    max_wait: float = 0.0
    asterisk_completed: int = 0
    asterisk_abandoned: int = 0

    def add(self, outcome: str, wait: float | None, talk: float | None, s: KpiSettings) -> None:
        self.offered += 1
        wait_value = wait or 0.0
        self.max_wait = max(self.max_wait, wait_value)
        if outcome == "answered":
            self.answered += 1
            self.wait_answered_total += wait_value
            self.answered_timely += wait_value <= s.timely_seconds
            self.answered_in_sl += wait_value <= s.service_level_seconds
            if talk is not None:
                self.talk_total += talk
                self.talk_count += 1
                self.asterisk_completed += 1
        elif outcome == "abandoned":
            self.abandoned += 1
            self.short_abandoned += wait_value < s.short_abandon_seconds
            self.abandoned_in_sl += wait_value <= s.service_level_seconds
            self.asterisk_abandoned += 1
        elif outcome == "timeout":
            self.timeout += 1
            self.asterisk_abandoned += 1
        elif outcome == "transferred":
            self.transferred += 1
            self.asterisk_abandoned += 1
        else:
            self.unknown += 1

    def figures(self, s: KpiSettings) -> dict[str, Any]:
        def ratio(a: float, b: float) -> float | None:
            return round(a / b, 4) if b else None

        return {
            **asdict(self),
            "answer_rate": ratio(self.answered, self.offered - self.short_abandoned),
            "answer_rate_raw": ratio(self.answered, self.offered),
            "answered_within_15s_rate": ratio(self.answered_timely, self.answered),
            "service_level": ratio(self.answered_in_sl, self.answered),
            "service_level2": ratio(self.answered_in_sl + self.abandoned_in_sl,
                                    self.answered + self.abandoned),
            "asa_seconds": ratio(self.wait_answered_total, self.answered),
            "aht_seconds": (round(self.talk_total / self.talk_count + s.wrapup_seconds, 2)
                            if self.talk_count else None),
        }


@dataclass
class CallKpis:
    settings: KpiSettings
    overall: dict[str, Any]
    queues: dict[str, dict[str, Any]]
    agents: dict[str, dict[str, Any]]
    buckets: dict[str, dict[str, Any]]
    abandoned_calls: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _get(record: Any, key: str) -> Any:
    return record.get(key) if isinstance(record, Mapping) else getattr(record, key)


def _value(outcome: Any) -> str:
    return str(getattr(outcome, "value", outcome))


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _bucket_start(moment: datetime, size: timedelta) -> datetime:
    moment = moment.astimezone(UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    steps = (moment - epoch) // size
    return epoch + steps * size


def compute_call_kpis(records: Iterable[Any], *, settings: KpiSettings | None = None,
                      bucket: str = "hour") -> CallKpis:
    """KPIs over call records (ORM `CallRecord`s or mappings with the same keys).

    Records that never entered a queue (outcome `self_service`) are not offered calls.
    """
    s = settings or KpiSettings()
    size = BUCKETS[bucket]
    overall = Tally()
    queues: dict[str, Tally] = defaultdict(Tally)
    agents: dict[str, Tally] = defaultdict(Tally)
    buckets: dict[str, Tally] = defaultdict(Tally)
    abandoned: list[dict[str, Any]] = []
    for record in records:
        legs = _get(record, "legs") or []
        outcome = _value(_get(record, "outcome"))
        if not legs and outcome == "self_service":
            continue
        overall.add(outcome, _get(record, "wait_seconds"), _get(record, "talk_seconds"), s)
        entered = _when(_get(record, "entered_at")) or _when(_get(record, "started_at"))
        if entered is not None:
            key = _bucket_start(entered, size).isoformat()
            buckets[key].add(outcome, _get(record, "wait_seconds"), _get(record, "talk_seconds"), s)
        if outcome == "abandoned":
            abandoned.append({
                "server": _get(record, "server"), "linkedid": _get(record, "linkedid"),
                "caller_number": _get(record, "caller_number"), "queue": _get(record, "queue"),
                "entered_at": entered.isoformat() if entered else None,
                "wait_seconds": _get(record, "wait_seconds"),
            })
        for leg in legs:
            leg_outcome = _value(leg.get("outcome"))
            queues[leg["queue"]].add(leg_outcome, leg.get("wait_seconds"), leg.get("talk_seconds"), s)
            if leg_outcome == "answered" and leg.get("agent"):
                agents[leg["agent"]].add(leg_outcome, leg.get("wait_seconds"), leg.get("talk_seconds"), s)
    return CallKpis(
        settings=s,
        overall=overall.figures(s),
        queues={name: t.figures(s) for name, t in sorted(queues.items())},
        agents={name: t.figures(s) for name, t in sorted(agents.items())},
        buckets={name: t.figures(s) for name, t in sorted(buckets.items())},
        abandoned_calls=abandoned,
    )
