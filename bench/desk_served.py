"""Where a served desk request's CPU goes: one worker as `hotline serve --workers N` runs each (the same
app factory, log configuration and multiprocess metrics, uvicorn with httptools and uvloop) on a
port of its own, the mix's reads back to back (`bench/desk_mix.py`'s floor personas, 60 users),
against the desk-mix database. `bench/desk_profile.py` calls routes in process; this one includes
the socket, uvicorn, the access line and the middleware.

Prints, per round, req/s, p50/p95 and the server process's CPU per request (/proc/PID/stat, all
its threads), with the load average. With `--py-spy FILE` the worker runs under `py-spy record -f
raw` (200 Hz; py-spy is a bench-only tool: `make bench-deps`): each line a stack and its samples;
sum them by the frames you care about.

    python bench/desk_served.py [--seconds 8] [--rounds 3] [--py-spy /tmp/desk.raw]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import db_url
from desk_mix import DB_NAME, FLOOR_PERSONAS, load_average, run_mix, stop, users_of, wait_port

WORKER = """
import os, sys, tempfile
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="hotline-metrics-"))
import uvicorn
from agent_desk.logs import configure_logging
from agent_desk.settings import load_settings
desk = load_settings().desk
uvicorn.run("agent_desk.asgi:api_only", factory=True, port=int(sys.argv[1]), log_level=desk.log_level.lower(),
            log_config=configure_logging(desk.log_level, desk.log_format), proxy_headers=False, server_header=False)
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_worker(port: int, py_spy: str | None, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The worker's process (py-spy's, when recording) and the worker's own pid."""
    env = {**os.environ, "HOTLINE_DB__URL": db_url(DB_NAME),
           "HOTLINE_DESK__AUTH__JWT_SECRET": "bench-secret-bench-secret-bench-secret",
           "HOTLINE_DESK__AUTH__LOGIN_ATTEMPTS": "1000", "HOTLINE_CONFIG": str(workdir / "none.toml")}
    command = [sys.executable, "-c", WORKER, str(port)]
    if py_spy:
        command = [str(Path(sys.executable).with_name("py-spy")), "record", "-r", "200", "-f", "raw", "-o",
                   py_spy, "--", *command]
    with open(workdir / "server.log", "ab") as log:  # a file: a pipe nobody reads would block the worker
        server = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=log)
    if not py_spy:
        return server, server.pid
    for _ in range(100):
        child = subprocess.run(["pgrep", "-P", str(server.pid)], check=False, capture_output=True,
                               text=True).stdout.split()
        if child:
            return server, int(child[0])
        time.sleep(0.1)
    stop(server)
    raise RuntimeError("py-spy did not start the worker")


async def measure(args: argparse.Namespace, workdir: Path) -> None:
    server, pid = start_worker(args.port, args.py_spy, workdir)
    try:
        await wait_port(args.port, server)
        users = await users_of(args.port, 40, 16, 4)
        await run_mix(args.port, users, FLOOR_PERSONAS, 3, 0)  # warm
        for _ in range(args.rounds):
            cpu, load = cpu_seconds(pid), load_average()
            result = await run_mix(args.port, users, FLOOR_PERSONAS, args.seconds, 0)
            per_request = (cpu_seconds(pid) - cpu) / max(result["requests"], 1) * 1000
            print(f"{result['rps']} req/s, p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
                  f"server CPU {per_request:.2f} ms/request, load {load} -> {load_average()}")
    finally:
        server.send_signal(signal.SIGINT)  # py-spy writes its file once the worker has ended
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            stop(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8797)
    parser.add_argument("--py-spy", help="record the worker's stacks to this file (py-spy's raw format)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(measure(args, Path(tmp)))


if __name__ == "__main__":
    main()
