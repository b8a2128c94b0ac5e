"""Helpers shared by the benchmarks: percentiles, machine description, result printing."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean of samples given in seconds, in milliseconds."""
    return {
        "p50_ms": round(percentile(samples, 50) * 1000, 3),
        "p95_ms": round(percentile(samples, 95) * 1000, 3),
        "p99_ms": round(percentile(samples, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3) if samples else float("nan"),
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    pg = ""
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=5,
                            check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    import sqlite3

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "postgresql_client": pg, "kernel": platform.release()}


def emit(name: str, result: dict[str, Any]) -> None:
    print(json.dumps({"bench": name, "machine": machine(), **result}, ensure_ascii=False, indent=2))


async def alternate(ask: Callable[[bool], Awaitable[tuple[T, float]]], runs: int,
                    direct_runs: int) -> tuple[list[float], list[float], list[T]]:
    """Asks `ask(True)` (from the roll-ups) `runs` times and `ask(False)` (the direct GROUP BY)
    `direct_runs` times, alternately while both run, each after one warm-up. `ask` returns its
    answer and the seconds it took; returns the seconds of each and every answer."""
    fast: list[float] = []
    direct: list[float] = []
    answers: list[T] = []
    for i in range(max(runs + 1, direct_runs + 1)):
        for via_rollups in (True, False) if i <= direct_runs else (True,):
            if via_rollups and i > runs:
                continue
            answer, seconds = await ask(via_rollups)
            answers.append(answer)
            if i >= 1:
                (fast if via_rollups else direct).append(seconds)
    return fast, direct, answers


async def timed(work: Awaitable[T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    answer = await work
    return answer, time.perf_counter() - t0
