"""The floor of `bench/desk_mix.py`: a bare Starlette app on asyncpg that runs the SQL the desk runs for
the mix's reads and returns the same JSON (the mix checks the bodies equal before it measures).

Routes: GET /api/tickets (a page of 50, the caller's scope), GET /api/tickets/{id}, GET /api/calls
(an agent's calls) and GET /api/inbox (a handler's unit). No authentication: the caller's id, role,
unit and city are read from the bearer token's payload without checking its signature. The
computed fields (SLA lights, allowed actions, working hours left) come from the same domain functions
the desk uses; everything else is one asyncpg query per table and a dict per row.

    DESK_FLOOR_DB=postgresql://… uvicorn bench.desk_floor:app --workers 2   (from the repository's root)
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pydantic_core
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent_desk.settings import load_settings
from ticketing.actions import allowed_actions
from ticketing.sla import SlaPolicy, light, sign_light
from ticketing.vocabulary import TicketState

COLUMNS = ("id, number, digits, state, channel, category, caller_number, caller_name, description, region_code, "
           "city_code, county_code, address, priority, level, lead_unit_id, created_by, created_at, dispatched_at, "
           "sign_due_at, signed_at, due_at, replied_at, closed_at, answer, kb_article_id, rating, redo_count, "
           "extension_count, return_count, extension_until, callback_requested, public, version")
TIMES = ("created_at", "dispatched_at", "sign_due_at", "signed_at", "due_at", "replied_at", "closed_at",
         "extension_until")
CALL_COLUMNS = ("id, server, linkedid, caller_number, caller_name, ivr_path, queue, entered_at, wait_seconds, agent, "
                "answered_at, talk_seconds, outcome, unknown_reason, ended_at, ticket_id, recording")
INBOX_STATES = ["dispatched", "handling", "extension_requested"]
_settings = load_settings().ticketing
WORKTIME = SlaPolicy.from_settings(_settings.calendar, _settings.sla).worktime
pool: asyncpg.Pool | None = None


def caller(request: Request) -> dict[str, Any]:
    payload = request.headers["authorization"].split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def scope(claims: dict[str, Any], args: list[Any]) -> str:
    """The desk's `ticket_scope` as SQL, its parameter appended to `args`."""
    role = claims["role"]
    if role in ("admin", "dispatcher") or (role == "supervisor" and claims.get("city") is None):
        return "true"
    if role == "supervisor":
        args.append(claims["city"])
        return f"city_code = ${len(args)}"
    if role == "handler":
        args.append(claims["unit"])
        n = len(args)
        return (f"(lead_unit_id = ${n} OR id IN (SELECT ticket_co_handlers.ticket_id FROM ticket_co_handlers "
                f"WHERE ticket_co_handlers.unit_id = ${n}))")
    args.append(int(claims["sub"]))
    return f"creator_id = ${len(args)}"


def utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def view(row: asyncpg.Record, co: list[str], now: datetime) -> dict[str, Any]:
    t = dict(row)
    for name in TIMES:
        t[name] = utc(t[name])
    state = TicketState(t["state"])
    out = {name: t[name] for name in ("id", "number", "digits", "state")}
    out["state_label"] = state.label
    out.update((name, t[name]) for name in (
        "channel", "category", "caller_number", "caller_name", "description", "region_code", "city_code",
        "county_code", "address", "priority", "level", "lead_unit_id"))
    out["co_handler_ids"] = co
    out.update((name, t[name]) for name in (
        "created_by", "created_at", "dispatched_at", "sign_due_at", "signed_at", "due_at", "replied_at", "closed_at",
        "answer", "kb_article_id", "rating", "redo_count", "extension_count", "return_count", "extension_until",
        "callback_requested", "public"))
    out["light"] = light(state, now=now, created_at=t["created_at"], sign_due_at=t["sign_due_at"],
                         signed_at=t["signed_at"], due_at=t["due_at"], replied_at=t["replied_at"]).value
    out["sign_light"] = sign_light(now=now, sign_due_at=t["sign_due_at"], signed_at=t["signed_at"]).value
    out["allowed_actions"] = allowed_actions(state)
    out["version"] = t["version"]
    return out


def deadline(name: str, label: str, due: datetime | None, met: datetime | None, lamp: str,
             now: datetime) -> list[dict[str, Any]]:
    if due is None:
        return []
    until = met or now
    left = WORKTIME.elapsed(until, due) - WORKTIME.elapsed(due, until)
    return [{"name": name, "label": label, "due_at": due, "met_at": met,
             "working_hours_left": round(left.total_seconds() / 3600, 2), "light": lamp}]


def cursor(*key: Any) -> str:
    plain = [k.isoformat() if isinstance(k, datetime) else k for k in key]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


async def co_handlers(conn: asyncpg.Connection, ids: list[int]) -> dict[int, list[str]]:
    co: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for r in await conn.fetch("SELECT ticket_id, unit_id FROM ticket_co_handlers WHERE ticket_id = ANY($1)",
                                  ids):
            co[r[0]].append(r[1])
    return co


def json_response(body: Any, status: int = 200) -> Response:
    return Response(pydantic_core.to_json(body), status_code=status, media_type="application/json")


async def tickets(request: Request) -> Response:
    args: list[Any] = []
    where = scope(caller(request), args)
    limit = int(request.query_params.get("limit", 50))
    now = datetime.now(UTC)
    assert pool is not None
    async with pool.acquire() as conn:
        rows = await conn.fetch(f"SELECT {COLUMNS} FROM tickets WHERE {where} ORDER BY id DESC LIMIT {limit + 1}",
                                *args)
        co = await co_handlers(conn, [r["id"] for r in rows])
    items = [view(r, co[r["id"]], now) for r in rows[:limit]]
    return json_response({"items": items, "next_cursor": cursor(rows[limit - 1]["id"]) if len(rows) > limit else None})


async def ticket(request: Request) -> Response:
    args: list[Any] = [int(request.path_params["ticket_id"])]
    where = scope(caller(request), args)
    assert pool is not None
    async with pool.acquire() as conn:
        row = await conn.fetchrow(f"SELECT {COLUMNS} FROM tickets WHERE id = $1 AND {where}", *args)
        if row is None:
            return json_response({"detail": "ticket not found"}, 404)
        co = await co_handlers(conn, [row["id"]])
    return json_response(view(row, co[row["id"]], datetime.now(UTC)))


async def calls(request: Request) -> Response:
    interface = caller(request)["agent"]
    limit = int(request.query_params.get("limit", 50))
    assert pool is not None
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT {CALL_COLUMNS} FROM call_records WHERE agent_interface = $1 OR id IN "
            f"(SELECT call_legs.call_id FROM call_legs WHERE call_legs.interface = $1) ORDER BY id DESC "
            f"LIMIT {limit + 1}", interface)
    items = []
    for r in rows[:limit]:
        c = dict(r)
        c["has_recording"] = bool(c.pop("recording"))
        for name in ("entered_at", "answered_at", "ended_at"):
            c[name] = utc(c[name])
        items.append(c)
    return json_response({"items": items, "next_cursor": cursor(rows[limit - 1]["id"]) if len(rows) > limit else None})


async def inbox(request: Request) -> Response:
    args: list[Any] = [INBOX_STATES]
    where = scope(caller(request), args)
    limit = int(request.query_params.get("limit", 50))
    now = datetime.now(UTC)
    assert pool is not None
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT {COLUMNS}, (SELECT count(ticket_events.id) FROM ticket_events WHERE ticket_events.ticket_id = "
            f"tickets.id AND ticket_events.action = 'supervise') AS supervisions FROM tickets WHERE {where} "
            f"AND state = ANY($1) AND coalesce(due_at, sign_due_at) IS NOT NULL "
            f"ORDER BY coalesce(due_at, sign_due_at), id LIMIT {limit + 1}", *args)
        co = await co_handlers(conn, [r["id"] for r in rows])
    items = []
    for r in rows[:limit]:
        item = view(r, co[r["id"]], now)
        item["deadlines"] = [*deadline("sign", "签收 sign-off", item["sign_due_at"], item["signed_at"],
                                       item["sign_light"], now),
                             *deadline("resolve", "办结 resolution", item["due_at"], item["replied_at"], item["light"],
                                       now)]
        item["supervisions"] = r["supervisions"]
        items.append(item)
    last = rows[limit - 1] if len(rows) > limit else None
    return json_response({"items": items, "next_cursor": cursor(utc(last["due_at"] or last["sign_due_at"]), last["id"])
                          if last else None})


async def health(_request: Request) -> Response:
    return json_response({"status": "ok"})


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    global pool
    # as many connections as the desk's pool: 5, and 10 more under load
    pool = await asyncpg.create_pool(os.environ["DESK_FLOOR_DB"], min_size=5, max_size=15)
    try:
        yield
    finally:
        await pool.close()


app = Starlette(routes=[Route("/health", health), Route("/api/tickets", tickets),
                        Route("/api/tickets/{ticket_id:int}", ticket), Route("/api/calls", calls),
                        Route("/api/inbox", inbox)], lifespan=lifespan)
