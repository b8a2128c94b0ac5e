"""Erlang C staffing: how many agents answer `target` of calls within `answer_seconds`.

Traffic A = λ × AHT (in Erlangs). For N > A agents, the chance a caller waits is
C(N, A) = N·B / (N − A·(1 − B)) with B the Erlang B blocking probability (computed by the stable
recursion B₀ = 1, Bₙ = A·Bₙ₋₁ / (n + A·Bₙ₋₁)); the service level is 1 − C·e^(−(N−A)·T/AHT) and the
average speed of answer C·AHT / (N − A).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_AHT_SECONDS = 180.0  # the advice's AHT where no answered call gives one


@dataclass(frozen=True)
class Staffing:
    agents: int
    traffic_erlangs: float
    service_level: float
    wait_probability: float
    asa_seconds: float
    occupancy: float


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a call waits, with `agents` servers and `traffic` Erlangs offered."""
    if agents <= traffic:
        return 1.0
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return agents * blocking / (agents - traffic * (1 - blocking))


def staffing_for(n: int, traffic: float, aht_seconds: float, answer_seconds: float) -> Staffing:
    wait = erlang_c(n, traffic)
    if n <= traffic:
        return Staffing(n, traffic, 0.0, 1.0, math.inf, 1.0)
    sl = 1 - wait * math.exp(-(n - traffic) * answer_seconds / aht_seconds)
    return Staffing(n, traffic, sl, wait, wait * aht_seconds / (n - traffic), traffic / n)


def required_agents(calls_per_hour: float, aht_seconds: float, *, answer_seconds: float = 20,
                    target: float = 0.8, max_agents: int = 2000) -> Staffing:
    """The fewest agents whose service level reaches `target`."""
    if calls_per_hour <= 0 or aht_seconds <= 0:
        return Staffing(0, 0.0, 1.0, 0.0, 0.0, 0.0)
    traffic = calls_per_hour * aht_seconds / 3600
    n = max(1, math.floor(traffic) + 1)
    while n <= max_agents:
        result = staffing_for(n, traffic, aht_seconds, answer_seconds)
        if result.service_level >= target:
            return result
        n += 1
    return staffing_for(max_agents, traffic, aht_seconds, answer_seconds)
