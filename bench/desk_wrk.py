"""The desk mix of `bench/desk_mix.py` driven by wrk, a load generator in C (issue 15), so that the
generator takes less of the two cores the servers and PostgreSQL share.

Same data, accounts, tokens, routes, weights and think times as desk_mix.py (imported from it): every
user becomes one wrk thread with one connection (`bench/desk_wrk.lua`); wrk's `delay()` is the
user's exponential think time and its `request()` picks the route by the persona's weights, with
the user's token; paths that desk_mix draws at random (knowledge search, new tickets) are drawn by
desk_mix's own functions beforehand, per user.

1. **Reads at saturation** (`--parts floor`): desk_mix's floor users (`--floor-clients`) back to back
   on its read routes, against `hotline serve --workers 2` and the bare Starlette floor
   (`bench/desk_floor.py`, 2 workers) — bodies checked equal first — alternating `--rounds` times;
   with `--python`, once more each with desk_mix's Python generator. Reported: req/s, p50/p95, the
   ratio to the floor (target ≥ 0.60), and the CPU per request of each side's workers, PostgreSQL's
   backends of this database, and the generator.
2. **Mix** (`--parts mix`): the whole mix with think times and desk_mix's SSE streams held, at
   `--agents` (default 420: about 440 req/s offered at instant answers). Target ≥ 400 req/s at
   p95 < 50 ms.

Needs Debian's `wrk` (LuaJIT inside), a bench-only tool, never needed by the tests: `make bench-deps`
installs it (and py-spy, for `bench/desk_served.py`). Data: desk_mix's database (`$DESK_MIX_DB`), built on
first use.

    python bench/desk_wrk.py [--parts floor,mix] [--agents 420] [--rounds 2] [--python] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import start_server
from common import emit
from desk_mix import (
    DB_NAME,
    FLOOR_PERSONAS,
    PERSONAS,
    TICKET_LIST,
    Persona,
    Recorder,
    Route,
    Seat,
    cancel,
    floor_share,
    hold_streams,
    load_average,
    login,
    mix_arguments,
    prepare_mix,
    run_mix,
    same_bodies,
    start_floor,
    stop,
    users_of,
    wait_port,
)
from desk_served import cpu_seconds

SCRIPT = Path(__file__).resolve().with_suffix(".lua")
DRAWS = 64  # random paths and bodies drawn per user and route, sent in turn


def lua(value: Any) -> str:
    """A Lua literal of a plan's value (JSON's string escapes are Lua's too)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {lua(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nil"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def route_plan(route: Route, user: Seat, weight: float = 0) -> dict[str, Any]:
    plan: dict[str, Any] = {"label": route.label, "method": route.method, "path": route.path,
                            "lists": route.lists, "weight": weight}
    if route.draw is not None:
        drawn = (route.draw(user) for _ in range(DRAWS))
        plan["draws"] = [[path, json.dumps(body) if body is not None else None] for path, body in drawn]
    return plan


def write_plan(folder: Path, users: dict[str, list[Seat]], personas: dict[str, Persona]) -> int:
    """One file per user (`<n>.lua`, n from 1) for the Lua script; returns how many."""
    n = 0
    for persona, group in users.items():
        for user in group:
            n += 1
            plan = {"token": user.token, "seed": n, "think_ms": personas[persona].think_s * 1000,
                    "routes": [route_plan(r, user, w) for r, w in personas[persona].actions],
                    "fallback": route_plan(TICKET_LIST, user)}
            (folder / f"{n}.lua").write_text(f"return {lua(plan)}\n", encoding="utf-8")
    return n


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        out.append(todo.pop())
        todo += children.get(out[-1], [])
    return out


def backends(database: str) -> list[int]:
    """PostgreSQL's processes serving `database` (their title names it)."""
    out = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if f" {database} ".encode() in cmdline.read_bytes():
                out.append(int(cmdline.parent.name))
        except OSError:
            continue
    return out


def cpu_total(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:  # ended meanwhile
            pass
    return total


Groups = dict[str, Callable[[], list[int]]]


@contextmanager
def cpu_window(groups: Groups) -> Iterator[dict[str, float]]:
    """CPU seconds each group of processes used inside the block (processes looked up at both ends)."""
    spent: dict[str, float] = {}
    before = {name: {pid: cpu_total([pid]) for pid in pids()} for name, pids in groups.items()}
    yield spent
    for name, pids in groups.items():
        spent[name] = sum(cpu_total([pid]) - before[name].get(pid, 0.0) for pid in pids())


def per_request(result: dict[str, Any], spent: dict[str, float]) -> None:
    result["cpu_ms_per_request"] = {name: round(s / max(result["requests"], 1) * 1000, 2) for name, s in spent.items()}
    result["load_average_after"] = load_average()


async def run_wrk(port: int, users: dict[str, list[Seat]], personas: dict[str, Persona], seconds: float,
                  warmup: float, groups: Groups) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        count = write_plan(folder, users, personas)
        env = {**os.environ, "DESK_WRK_PLAN": str(folder), "DESK_WRK_OUT": str(folder / "log.tsv")}
        begin = time.monotonic()
        wrk = await asyncio.create_subprocess_exec(
            "wrk", "-t", str(count), "-c", str(count), "-d", f"{warmup + seconds + 1:g}s", "--timeout", "30s",
            "-s", str(SCRIPT), f"http://127.0.0.1:{port}", env=env, stdout=subprocess.DEVNULL)
        await asyncio.sleep(begin + warmup - time.monotonic())
        with cpu_window({**groups, "generator (wrk)": lambda: [wrk.pid]}) as spent:
            await asyncio.sleep(begin + warmup + seconds - time.monotonic())
        if await wrk.wait() != 0:
            raise RuntimeError(f"wrk exited with {wrk.returncode}")
        recorder = Recorder(begin + warmup, begin + warmup + seconds)
        totals: list[str] = []
        for line in (folder / "log.tsv").read_text().splitlines():
            fields = line.split("\t")
            if fields[0] == "#wrk":
                totals = fields[1:]
            else:
                recorder.add(fields[0], float(fields[1]), float(fields[2]), int(fields[3]))
    result = recorder.summary(seconds)
    result["users"] = count
    result["wrk"] = dict(zip(("duration_us", "requests", "connect_errors", "read_errors", "write_errors",
                              "status_errors", "timeouts"), map(int, totals), strict=True))
    per_request(result, spent)
    return result


async def run_python(port: int, users: dict[str, list[Seat]], personas: dict[str, Persona], seconds: float,
                     warmup: float, groups: Groups) -> dict[str, Any]:
    task = asyncio.create_task(run_mix(port, users, personas, seconds, warmup))
    await asyncio.sleep(warmup)
    with cpu_window({**groups, "generator (Python)": lambda: [os.getpid()]}) as spent:
        await asyncio.sleep(seconds)
    result = await task
    per_request(result, spent)
    return result


def print_result(name: str, r: dict[str, Any]) -> None:
    cpu = ", ".join(f"{k} {v}" for k, v in r["cpu_ms_per_request"].items())
    print(f"{name}: {r['rps']} req/s, p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, errors {r['errors']}, "
          f"load after {r['load_average_after']}\n   CPU ms/request: {cpu}")
    for route, s in r["routes"].items():
        print(f"   {route:<34} {s['rps']:>7} /s  p50 {s['p50_ms']:>8}  p95 {s['p95_ms']:>8}")


async def saturation(args: argparse.Namespace, users: dict[str, list[Seat]], server: subprocess.Popen[bytes],
                     out: dict[str, Any]) -> None:
    few = floor_share(users, args.floor_clients)
    floor = start_floor(args.port + 1, 2)
    try:
        await wait_port(args.port + 1, floor)
        out["floor_checked"] = await same_bodies(args.port, args.port + 1, few)
        sides = {"hotline": (args.port, lambda: descendants(server.pid)),
                 "floor": (args.port + 1, lambda: descendants(floor.pid))}
        runs: list[tuple[str, Callable[..., Any]]] = [("wrk", run_wrk)] * args.rounds
        runs += [("python", run_python)] if args.python else []
        for i, (generator, runner) in enumerate(runs):
            for side, (port, pids) in sides.items():
                groups = {f"{side} workers": pids, "PostgreSQL": lambda: backends(DB_NAME)}
                result = await runner(port, few, FLOOR_PERSONAS, args.floor_seconds, args.warmup, groups)
                out.setdefault("saturation", []).append({"side": side, "generator": generator, "round": i + 1,
                                                         **result})
                print_result(f"saturation {generator} {side} (round {i + 1})", result)
    finally:
        stop(floor)
    for generator in ("wrk", "python"):
        runs_of = [r for r in out.get("saturation", []) if r["generator"] == generator]
        rates = {side: [r["rps"] for r in runs_of if r["side"] == side] for side in sides}
        if rates["floor"]:
            out[f"ratio_to_floor_{generator}"] = [round(h / f, 2) for h, f in zip(rates["hotline"], rates["floor"],
                                                                                     strict=True)]
            print(f"ratio to floor ({generator}, round by round): {out[f'ratio_to_floor_{generator}']}")


async def mix(args: argparse.Namespace, users: dict[str, list[Seat]], server: subprocess.Popen[bytes],
              out: dict[str, Any]) -> None:
    groups = {"hotline workers": lambda: descendants(server.pid), "PostgreSQL": lambda: backends(DB_NAME)}
    streams = await hold_streams(args.port, users, await login(args.port, "mix-wallboard"))
    try:
        out["mix_wrk"] = await run_wrk(args.port, users, PERSONAS, args.seconds, args.warmup, groups)
        print_result("mix, wrk", out["mix_wrk"])
        if args.python:
            out["mix_python"] = await run_python(args.port, users, PERSONAS, args.seconds, args.warmup, groups)
            print_result("mix, Python", out["mix_python"])
        out["sse_streams_held"] = sum(1 for t in streams if not t.done())
    finally:
        await cancel(streams)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    await prepare_mix(args.tickets, fresh=False)
    out: dict[str, Any] = {"load_average_before": load_average()}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(args.port, Path(tmp), 2, DB_NAME)
        try:
            await wait_port(args.port, server)
            users = await users_of(args.port, args.agents, args.handlers, args.supervisors)
            if "floor" in args.parts:
                await saturation(args, users, server, out)
            if "mix" in args.parts:
                await mix(args, users, server, out)
        finally:
            stop(server)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mix_arguments(parser, agents=420)
    parser.add_argument("--rounds", type=int, default=2, help="hotline, floor alternations with wrk")
    parser.add_argument("--python", action="store_true", help="also desk_mix's Python generator, once each")
    parser.add_argument("--parts", default="floor,mix")
    parser.add_argument("--port", type=int, default=8805)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    emit("desk_wrk", {"args": vars(args), **result})


if __name__ == "__main__":
    main()
