"""A shift at the desk (issue 15): a realistic request mix on `hotline serve --workers 2` over PostgreSQL,
beside its floor, then 1,000 SSE clients on one process.

Data (database `hotline_bench_deskmix`, or `$DESK_MIX_DB`; built once, `--drop` removes it at the end): `bench/api.py`'s
generator (`--tickets`, default 200,000 over 365 days, every county), plus 60 agents with 1,000 of
those tickets each as their creator and 100,000 calls answered at their interfaces, 40 handlers of
county offices (the generator's lead units), 10 city supervisors, a dispatcher and 2,000
knowledge-base articles (`bench/knowledge.py`'s).

1. **Mix** (`--seconds`, after `--warmup`): closed-loop users, each waiting an exponentially distributed
   think time between requests:
   - agents (`--agents`, think 1 s mean): list their calls (20 %) and tickets (25 %), open one of
     them (31 %), search the knowledge base for their caller's county (22 %), create a ticket (2 %:
     each change costs one scope query for all the handlers' streams, see docs/benchmarks.md);
     each also holds its screen-pop SSE stream;
   - handlers (`--handlers`, think 2 s): their inbox (70 %), open a ticket from it (30 %); each holds
     the ticket-changes stream;
   - supervisors (`--supervisors`, think 5 s): the KPI page; two wallboards hold their SSE stream.
   Reported: req/s, p50/p95 per route and overall. Target: ≥ 400 req/s at p95 < 50 ms.
2. **Floor** (`bench/desk_floor.py`): the read routes of the mix (ticket list, ticket, call list,
   inbox) with no think time (saturation) from `--floor-clients` users, against hotline and against a
   bare Starlette app (2 uvicorn workers) that runs the same SQL by asyncpg and returns the same JSON
   — checked equal before it starts. Ratio of throughputs; target ≥ 60 %.
3. **SSE** (`--sse-clients`, default 1,000) on one `hotline serve` process: every client holds
   `/api/ticket-changes/stream` as the dispatcher (`--sse-as handler`: as handlers of the unit the
   tickets go to, each change then checked against each client's scope); `--events` tickets are
   created one at a time `--event-gap` s apart and each client's delivery time is taken from the
   create's request to the `change` event reaching it (after one knowledge search, which waits for
   the segmenter the new server loads at start). Reported: p50/p95/p99, the worst client's p95 and
   each change's p95. Target p95 < 200 ms.

The load generator speaks HTTP/1.1 over its own keep-alive sockets (a few µs per request, so it
takes less of the shared cores than an HTTP library would); it runs on the same machine.

    python bench/desk_mix.py [--tickets 200000] [--agents 300] [--handlers 40] [--supervisors 10]
                             [--seconds 30] [--floor-clients 64] [--sse-clients 1000] [--drop]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import ADMIN_URL, COUNTIES, PASSWORD, db_url, prepare, start_server
from common import emit, percentile, summary_ms
from knowledge import QUERIES, articles
from sqlalchemy import insert, select, text

from agent_desk.accounts import NewUser, add_user
from ticketing.db import make_engine, make_session_factory
from ticketing.knowledge import Segmenter
from ticketing.models import CallOutcome, CallRecord, KbArticle, KbArticleRegion, Role, User

DB_NAME = os.environ.get("DESK_MIX_DB", "hotline_bench_deskmix")  # another name keeps runs apart
AGENTS, HANDLERS, SUPERVISORS = 60, 40, 10
CALLS = 100_000
ARTICLES = 2_000
CITIES = sorted({c[:4] + "00" for c in COUNTIES})
ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 30


def agent_name(i: int) -> str:
    return f"mix-agent-{i}"


def interface(i: int) -> str:
    return f"Local/{7000 + i}@agents"


# The generator's county is g % 95 and its state g % 10, so only counties k with k % 5 in (2, 3) hold
# open (dispatched, in hand) tickets: the handlers work there.
OPEN_COUNTIES = [c for k, c in enumerate(COUNTIES) if k % 5 in (2, 3)]


def handler_county(i: int) -> str:
    return OPEN_COUNTIES[i % len(OPEN_COUNTIES)]


async def prepare_mix(tickets: int, fresh: bool) -> None:
    await prepare(tickets, fresh, DB_NAME)
    engine = make_engine(db_url(DB_NAME))
    try:
        sessions = make_session_factory(engine)
        async with sessions() as session:
            if await session.scalar(select(User.id).where(User.username == "mix-wallboard")):
                return
            have = set((await session.scalars(select(User.username))).all())
        accounts = [NewUser(agent_name(i), Role.AGENT, PASSWORD, agent_interface=interface(i)) for i in range(AGENTS)]
        accounts += [NewUser(f"mix-handler-{i}", Role.HANDLER, PASSWORD, unit_id=f"office:{handler_county(i)}")
                     for i in range(HANDLERS)]
        accounts += [NewUser(f"mix-sup-{i}", Role.SUPERVISOR, PASSWORD, region_code=CITIES[i % len(CITIES)])
                     for i in range(SUPERVISORS)]
        accounts += [NewUser("mix-dispatcher", Role.DISPATCHER, PASSWORD),
                     NewUser("mix-wallboard", Role.SUPERVISOR, PASSWORD, region_code="320000")]
        for account in accounts:
            if account.username not in have:
                await add_user(sessions, account)
        async with sessions() as session:
            agents = list((await session.scalars(select(User.id).where(User.username.like("mix-agent-%"))
                                                 .order_by(User.id))).all())
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE tickets SET creator_id = (CAST(:ids AS integer[]))[1 + (id / 4) % :n] "
                                    "WHERE created_by = 'bench' AND id % 4 = 0 AND id <= :last"),
                               {"ids": agents, "n": len(agents), "last": 4 * 1000 * len(agents)})
            now = datetime.now(UTC)
            rng = random.Random(7)
            for offset in range(0, CALLS, 10_000):
                rows = []
                for i in range(offset, offset + 10_000):
                    entered = now - timedelta(seconds=(CALLS - i) * 30)
                    answered = i % 10 < 8
                    rows.append({"server": "pbx1", "linkedid": f"mix-{i}", "queue": "hotline",
                                 "caller_number": f"139{i % 100_000_000:08d}", "entered_at": entered,
                                 "started_at": entered, "wait_seconds": rng.randrange(60),
                                 "agent": f"{7000 + i % AGENTS}" if answered else None,
                                 "agent_interface": interface(i % AGENTS) if answered else None,
                                 "answered_at": entered if answered else None,
                                 "talk_seconds": rng.randrange(30, 400) if answered else None,
                                 "outcome": CallOutcome.ANSWERED if answered else CallOutcome.ABANDONED,
                                 "ended_at": entered + timedelta(minutes=5), "final": True, "updated_at": entered})
                await conn.execute(insert(CallRecord), rows)
            segmenter = Segmenter()
            segmenter.load()
            kb_rows, kb_regions = articles(ARTICLES, segmenter)
            for offset in range(0, len(kb_rows), 1000):
                await conn.execute(insert(KbArticle), kb_rows[offset:offset + 1000])
            await conn.execute(insert(KbArticleRegion), kb_regions)
            await conn.execute(text("SELECT setval(pg_get_serial_sequence('kb_articles', 'id'), :n)"),
                               {"n": ARTICLES})
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))  # the UPDATE above left 50,000 dead rows in tickets
    finally:
        await engine.dispose()


async def drop_database() -> None:
    admin = make_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    finally:
        await admin.dispose()


class HttpError(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection: a request at a time, bodies by Content-Length."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                      body: Any = None) -> tuple[int, bytes]:
        try:
            return await asyncio.wait_for(self._request(method, path, headers, body), TIMEOUT_S)
        except TimeoutError:
            self.close()
            raise HttpError(f"{method} {path}: no answer in {TIMEOUT_S} s") from None

    async def _request(self, method: str, path: str, headers: dict[str, str] | None, body: Any) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else b""
        lines = [f"{method} {path} HTTP/1.1", "Host: bench"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        message = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        for attempt in (1, 2):
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self._reader is not None
            try:
                self._writer.write(message)
                head = await self._reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
                continue
            status = int(head[9:12])
            length, close = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
                elif name == b"transfer-encoding":
                    raise HttpError("chunked responses are not expected here")
            data = await self._reader.readexactly(length)
            if close:
                self.close()
            return status, data
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def sse(port: int, path: str, token: str, on_event: Callable[[str, str, float], None],
              opened: asyncio.Event | None = None) -> None:
    """Hold an SSE stream, calling `on_event(event, data, received_at)` for each event, until cancelled."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        writer.write((f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n"
                      f"Authorization: Bearer {token}\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if head[9:12] != b"200":
            raise HttpError(f"{path}: {head[:12]!r}")
        chunked = b"transfer-encoding: chunked" in head.lower()
        event, data = "message", ""
        while True:
            line = await reader.readline()
            if not line:
                return
            if chunked and line.strip() and all(c in b"0123456789abcdefABCDEF\r\n" for c in line):
                continue  # a chunk-size line; events never start with one
            text_line = line.decode().rstrip("\r\n")
            if text_line.startswith("event:"):
                event = text_line[6:].strip()
            elif text_line.startswith("data:"):
                data += text_line[5:].strip()
            elif text_line == "" and data:
                received = time.perf_counter()
                if opened is not None and event == "hello":
                    opened.set()
                on_event(event, data, received)
                event, data = "message", ""
    finally:
        writer.close()


@dataclass
class Recorder:
    record_from: float
    stop_at: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, route: str, started: float, ended: float, status: int) -> None:
        if not self.record_from <= started < self.stop_at:
            return
        if status >= 400:
            key = f"{route} {status}"
            self.errors[key] = self.errors.get(key, 0) + 1
        else:
            self.latencies.setdefault(route, []).append(ended - started)

    def summary(self, seconds: float) -> dict[str, Any]:
        every = [x for values in self.latencies.values() for x in values]
        routes = {route: {"requests": len(v), "rps": round(len(v) / seconds, 1), **summary_ms(v)}
                  for route, v in sorted(self.latencies.items())}
        return {"requests": len(every), "rps": round(len(every) / seconds, 1), **summary_ms(every),
                "routes": routes, "errors": self.errors}


@dataclass
class Seat:
    name: str
    token: str
    rng: random.Random
    ticket_ids: list[int] = field(default_factory=list)
    county: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _ids(body: bytes) -> list[int]:
    return [item["id"] for item in json.loads(body)["items"]]


def kb_search(user: Seat) -> tuple[str, Any]:
    query = urlencode({"q": user.rng.choice(QUERIES), "region_code": user.rng.choice(COUNTIES)})
    return f"/api/kb/articles?{query}", None


def new_ticket(user: Seat) -> tuple[str, Any]:
    return "/api/tickets", {"category": "help", "region_code": user.rng.choice(COUNTIES),
                            "caller_number": "13900000000",
                            "description": f"bench mix {user.name} {user.rng.randrange(1 << 30)}"}


@dataclass(frozen=True)
class Route:
    """A request of the mix, as both load generators send it (this file's and wrk's, `bench/desk_wrk.py`)."""

    label: str  # its name in the results
    method: str
    path: str  # "{id}": a ticket of the user's last list (before any list, the ticket list is sent instead)
    lists: bool = False  # its answer lists the tickets the user may open next
    draw: Callable[[Seat], tuple[str, Any]] | None = None  # path and body drawn anew for each request


TICKET_LIST = Route("GET /api/tickets", "GET", "/api/tickets?limit=50", lists=True)
TICKET = Route("GET /api/tickets/{id}", "GET", "/api/tickets/{id}")
CALL_LIST = Route("GET /api/calls", "GET", "/api/calls?limit=20")
KB_SEARCH = Route("GET /api/kb/articles?q=", "GET", "/api/kb/articles", draw=kb_search)
NEW_TICKET = Route("POST /api/tickets", "POST", "/api/tickets", draw=new_ticket)
INBOX = Route("GET /api/inbox", "GET", "/api/inbox?limit=50", lists=True)
DASHBOARD = Route("GET /api/supervisor/dashboard", "GET", "/api/supervisor/dashboard")


async def send(conn: Connection, user: Seat, route: Route) -> tuple[str, int]:
    if "{id}" in route.path and not user.ticket_ids:
        route = TICKET_LIST
    path, body = route.draw(user) if route.draw else (route.path, None)
    if "{id}" in path:
        path = path.replace("{id}", str(user.rng.choice(user.ticket_ids)))
    status, answer = await conn.request(route.method, path, user.headers, body)
    if route.lists and status == 200:
        user.ticket_ids = _ids(answer) or user.ticket_ids
    return route.label, status


@dataclass(frozen=True)
class Persona:
    think_s: float
    actions: list[tuple[Route, float]]

    def pick(self, rng: random.Random) -> Route:
        return rng.choices([a for a, _ in self.actions], [w for _, w in self.actions])[0]


PERSONAS = {
    "agent": Persona(1.0, [(CALL_LIST, 20), (TICKET_LIST, 25), (TICKET, 31), (KB_SEARCH, 22), (NEW_TICKET, 2)]),
    "handler": Persona(2.0, [(INBOX, 70), (TICKET, 30)]),
    "supervisor": Persona(5.0, [(DASHBOARD, 1)]),
}
FLOOR_PERSONAS = {  # the mix's reads that the floor serves too, back to back
    "agent": Persona(0, [(CALL_LIST, 20), (TICKET_LIST, 25), (TICKET, 25)]),
    "handler": Persona(0, [(INBOX, 70), (TICKET, 30)]),
    "supervisor": Persona(0, [(TICKET_LIST, 1)]),
}


async def login(port: int, username: str) -> str:
    conn = Connection(port)
    try:
        status, body = await conn.request("POST", "/api/auth/login", body={"username": username, "password": PASSWORD})
        if status != 200:
            raise HttpError(f"login {username}: {status} {body[:200]!r}")
        return str(json.loads(body)["access_token"])
    finally:
        conn.close()


async def users_of(port: int, agents: int, handlers: int, supervisors: int) -> dict[str, list[Seat]]:
    """Log in each account once; users beyond the accounts share one's token (a second tab)."""
    out: dict[str, list[Seat]] = {"agent": [], "handler": [], "supervisor": []}
    plan = (("agent", agents, AGENTS, agent_name), ("handler", handlers, HANDLERS, lambda i: f"mix-handler-{i}"),
            ("supervisor", supervisors, SUPERVISORS, lambda i: f"mix-sup-{i}"))
    for persona, count, accounts, name in plan:
        tokens = {i: await login(port, name(i)) for i in range(min(count, accounts))}
        out[persona] = [Seat(name(i % accounts), tokens[i % accounts], random.Random(i), county=handler_county(i))
                        for i in range(count)]
    return out


async def run_mix(port: int, users: dict[str, list[Seat]], personas: dict[str, Persona], seconds: float,
                  warmup: float) -> dict[str, Any]:
    begin = time.perf_counter()
    recorder = Recorder(begin + warmup, begin + warmup + seconds)

    async def user_loop(persona: Persona, user: Seat) -> None:
        conn = Connection(port)
        await asyncio.sleep(user.rng.random() * max(persona.think_s, 0.05))  # arrive spread out
        try:
            while (started := time.perf_counter()) < recorder.stop_at:
                try:
                    route, status = await send(conn, user, persona.pick(user.rng))
                except (OSError, asyncio.IncompleteReadError, HttpError) as exc:
                    route, status = type(exc).__name__, 599
                    conn.close()
                recorder.add(route, started, time.perf_counter(), status)
                if persona.think_s:
                    await asyncio.sleep(user.rng.expovariate(1 / persona.think_s))
        finally:
            conn.close()

    await asyncio.gather(*(user_loop(personas[p], u) for p, group in users.items() for u in group))
    return recorder.summary(seconds)


async def hold_streams(port: int, users: dict[str, list[Seat]], wallboard_token: str) -> list[asyncio.Task[None]]:
    """The mix's standing SSE connections: a screen pop per agent, ticket changes per handler, 2 wallboards."""
    received = [0]

    def count(_event: str, _data: str, _at: float) -> None:
        received[0] += 1

    paths = [("/api/agent/screen-pop", u.token) for u in users["agent"]]
    paths += [("/api/ticket-changes/stream", u.token) for u in users["handler"]]
    paths += [("/api/wallboard/stream", wallboard_token)] * 2
    return [asyncio.create_task(sse(port, path, token, count)) for path, token in paths]


async def cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def start_floor(port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DESK_FLOOR_DB": db_url(DB_NAME).replace("+asyncpg", "")}
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.desk_floor:app", "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_port(port: int, server: subprocess.Popen[bytes], path: str = "/health") -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {server.returncode}")
        conn = Connection(port)
        try:
            if (await conn.request("GET", path))[0] == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        await asyncio.sleep(0.1)
    raise RuntimeError("server did not become ready")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(5)


def floor_share(users: dict[str, list[Seat]], clients: int) -> dict[str, list[Seat]]:
    """About `clients` of the users, each persona in its share of the mix, for the back-to-back reads."""
    everyone = sum(map(len, users.values()))
    return {p: group[:max(1, clients * len(group) // everyone)] for p, group in users.items()}


async def same_bodies(hotline: int, floor: int, users: dict[str, list[Seat]]) -> list[str]:
    """The floor must answer what hotline answers: compared once per route and persona before the run."""
    checked = []
    for persona, group in users.items():
        user = group[0]
        paths = [TICKET_LIST.path] + ([CALL_LIST.path] if persona == "agent" else [])
        paths += [INBOX.path] if persona == "handler" else []
        for path in paths:
            a, b = Connection(hotline), Connection(floor)
            try:
                (sa, ba), (sb, bb) = await a.request("GET", path, user.headers), await b.request("GET", path,
                                                                                               user.headers)
                ids = _ids(ba)
                if ids:
                    detail = f"/api/tickets/{ids[0]}"
                    if path != CALL_LIST.path:
                        da, db_ = (await a.request("GET", detail, user.headers),
                                   await b.request("GET", detail, user.headers))
                        if da != db_:
                            raise AssertionError(f"floor differs on {detail} as {user.name}")
            finally:
                a.close()
                b.close()
            if sa != 200 or (sa, json.loads(ba)) != (sb, json.loads(bb)):
                raise AssertionError(f"floor differs on {path} as {user.name}: {sa} {sb}\n{ba[:300]!r}\n{bb[:300]!r}")
            checked.append(f"{path} as {user.name}")
    return checked


async def run_sse(port: int, clients: int, events: int, gap: float, as_role: str) -> dict[str, Any]:
    names = ["mix-dispatcher"] if as_role == "dispatcher" else [f"mix-handler-{i}" for i in range(HANDLERS)]
    tokens = [await login(port, n) for n in names]
    creator = await login(port, agent_name(0))
    conn = Connection(port)
    # A knowledge search waits for the segmenter the new server loads in a thread: that second of the
    # GIL would otherwise fall on the first changes' fan-out.
    status, _ = await conn.request("GET", f"/api/kb/articles?{urlencode({'q': QUERIES[0]})}",
                                   {"Authorization": f"Bearer {creator}"})
    if status != 200:
        raise HttpError(f"warm-up search: {status}")
    sent: dict[str, float] = {}
    arrivals: list[list[tuple[str, float]]] = [[] for _ in range(clients)]
    opened = [asyncio.Event() for _ in range(clients)]

    def recorder(i: int) -> Callable[[str, str, float], None]:
        def on_event(event: str, data: str, at: float) -> None:
            if event == "change":
                arrivals[i].append((json.loads(data)["number"], at))
        return on_event

    tasks = []
    for i in range(clients):
        tasks.append(asyncio.create_task(sse(port, "/api/ticket-changes/stream", tokens[i % len(tokens)],
                                             recorder(i), opened[i])))
        if i % 100 == 99:
            await asyncio.sleep(0.2)
    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 120)
    connect_s = time.perf_counter() - started
    print(f"  sse: {clients} streams open; {events} changes …", file=sys.stderr)
    county = handler_county(0) if as_role == "handler" else COUNTIES[0]
    try:
        for n in range(events):
            at = time.perf_counter()
            status, body = await conn.request("POST", "/api/tickets", {"Authorization": f"Bearer {creator}"}, {
                "category": "help", "region_code": county, "caller_number": "13900000000", "dispatch": True,
                "description": f"bench sse {n}"})
            if status != 201:
                raise HttpError(f"create: {status} {body[:200]!r}")
            sent[json.loads(body)["number"]] = at
            await asyncio.sleep(gap)
        await asyncio.sleep(3)
    finally:
        conn.close()
        await cancel(tasks)
    delays = [at - sent[number] for per in arrivals for number, at in per if number in sent]
    expected = events * clients if as_role == "dispatcher" else events * sum(
        1 for i in range(clients) if handler_county(i % HANDLERS) == county)
    per_client_p95 = [percentile([at - sent[n] for n, at in per if n in sent], 95) for per in arrivals if per]
    per_change = {number: [at - sent[number] for per in arrivals for n, at in per if n == number] for number in sent}
    return {"clients": clients, "as": as_role, "events": events, "gap_s": gap, "connect_all_s": round(connect_s, 1),
            "deliveries": len(delays), "expected_deliveries": expected, **summary_ms(delays),
            "worst_client_p95_ms": round(max(per_client_p95) * 1000, 1) if per_client_p95 else None,
            "each_change_p95_ms": [round(percentile(d, 95) * 1000) for d in per_change.values()]}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def run(args: argparse.Namespace) -> dict[str, Any]:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000 SSE sockets here and in the server
    await prepare_mix(args.tickets, args.fresh)
    out: dict[str, Any] = {"load_average_before": load_average()}
    with tempfile.TemporaryDirectory() as tmp:
        if "mix" in args.parts or "floor" in args.parts:
            server = start_server(args.port, Path(tmp), 2, DB_NAME)
            try:
                await wait_port(args.port, server)
                print("  server up; logging in …", file=sys.stderr)
                users = await users_of(args.port, args.agents, args.handlers, args.supervisors)
                if "mix" in args.parts:
                    streams = await hold_streams(args.port, users, await login(args.port, "mix-wallboard"))
                    print(f"  mix: {sum(map(len, users.values()))} users, {len(streams)} SSE streams, "
                          f"{args.seconds:g} s …", file=sys.stderr)
                    out["mix"] = await run_mix(args.port, users, PERSONAS, args.seconds, args.warmup)
                    out["mix"]["load_average_after"] = load_average()
                    print(f"    {out['mix']['rps']} req/s, p95 {out['mix']['p95_ms']} ms", file=sys.stderr)
                    out["mix"]["sse_streams_held"] = sum(1 for t in streams if not t.done())
                    await cancel(streams)
                if "floor" in args.parts:
                    floor_users = floor_share(users, args.floor_clients)
                    floor = start_floor(args.port + 1, 2)
                    try:
                        await wait_port(args.port + 1, floor)
                        print("  floor up; comparing bodies …", file=sys.stderr)
                        out["floor_checked"] = await same_bodies(args.port, args.port + 1, floor_users)
                        for name, port in (("hotline", args.port), ("floor", args.port + 1),
                                           ("hotline_again", args.port)):
                            print(f"  saturation, {name}: {sum(map(len, floor_users.values()))} users …",
                                  file=sys.stderr)
                            out[f"saturation_{name}"] = await run_mix(port, floor_users, FLOOR_PERSONAS,
                                                                      args.floor_seconds, args.warmup)
                            out[f"saturation_{name}"]["load_average_after"] = load_average()
                            print(f"    {out[f'saturation_{name}']['rps']} req/s", file=sys.stderr)
                    finally:
                        stop(floor)
                    best = max(out["saturation_hotline"]["rps"], out["saturation_hotline_again"]["rps"])
                    out["ratio_to_floor"] = round(best / out["saturation_floor"]["rps"], 2)
            finally:
                stop(server)
        if "sse" in args.parts:
            server = start_server(args.port, Path(tmp), 1, DB_NAME)
            try:
                await wait_port(args.port, server)
                print(f"  sse: {args.sse_clients} clients as {args.sse_as} …", file=sys.stderr)
                out["sse"] = await run_sse(args.port, args.sse_clients, args.events, args.event_gap, args.sse_as)
                out["sse"]["load_average_after"] = load_average()
            finally:
                stop(server)
    if args.drop:
        await drop_database()
    return out


def mix_arguments(parser: argparse.ArgumentParser, agents: int) -> None:
    """The mix's data, users and windows, the same for both load generators (`bench/desk_wrk.py`)."""
    parser.add_argument("--tickets", type=int, default=200_000, help="only when the database is built")
    parser.add_argument("--agents", type=int, default=agents)
    parser.add_argument("--handlers", type=int, default=40)
    parser.add_argument("--supervisors", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30, help="the mix's measured window")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--floor-clients", type=int, default=64, help="back-to-back users against hotline and floor")
    parser.add_argument("--floor-seconds", type=float, default=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mix_arguments(parser, agents=300)
    parser.add_argument("--sse-clients", type=int, default=1000)
    parser.add_argument("--sse-as", choices=("dispatcher", "handler"), default="dispatcher")
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--event-gap", type=float, default=0.5)
    parser.add_argument("--parts", default="mix,floor,sse")
    parser.add_argument("--port", type=int, default=8795)
    parser.add_argument("--fresh", action="store_true", help="rebuild the bench database")
    parser.add_argument("--drop", action="store_true", help="drop the bench database at the end")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    for name in ("mix", "saturation_hotline", "saturation_floor", "saturation_hotline_again"):
        if name in result:
            r = result[name]
            print(f"{name}: {r['rps']} req/s, p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, errors {r['errors']}")
            for route, s in r["routes"].items():
                print(f"   {route:<34} {s['rps']:>7} /s  p50 {s['p50_ms']:>8}  p95 {s['p95_ms']:>8}")
    if "ratio_to_floor" in result:
        print(f"ratio to floor: {result['ratio_to_floor']}")
    if "sse" in result:
        print(f"sse: {result['sse']}")
    emit("desk_mix", {"tickets": args.tickets, "args": vars(args), **result})


if __name__ == "__main__":
    main()
