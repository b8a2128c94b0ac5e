"""Operations routes: `/metrics` (Prometheus text format), `/healthz` (alive) and `/readyz` (able
to do its roles' work now).

Two kinds of figures. Events counted as they happen — HTTP latency by route, SLA breaches raised —
are prometheus-client metrics in this module; with `PROMETHEUS_MULTIPROC_DIR` set (`hotline serve
--workers N` sets it) every worker writes them to that directory and any worker's `/metrics`
reports the sum (prometheus-client's multiprocess mode). Everything else is read when scraped from
what this process holds: the AMI links and their events, the live queues, calls by outcome, IVR
sessions by flow, the ASR backlog and job latency (from the database), leadership and the Redis
feed. Each role process has a port of its own, so each is scraped on its own.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_desk.desk import Desk
from ticketing.models import JobState, TranscriptionJob, utcnow

router = APIRouter(tags=["ops"])
HTTP_SECONDS = Histogram("hotline_http_request_duration_seconds", "HTTP request latency by route",
                         ["method", "route", "status"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
SLA_BREACHES = Counter("hotline_sla_breaches_total", "SLA breaches the sweep raised (督办)", ["kind"])
CHECK_TIMEOUT = 2.0


class HttpMetrics:
    """ASGI middleware: each HTTP request's latency under its route's path template (never the raw
    path: ids would make a series each). Streams (SSE) count until their headers are sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        observed = False

        def observe() -> None:
            nonlocal observed
            if not observed:
                observed = True
                route = scope.get("route")
                path = getattr(route, "path", None) or "unmatched"
                HTTP_SECONDS.labels(scope["method"], path, f"{status // 100}xx").observe(time.perf_counter() - started)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if any(k == b"content-type" and v.startswith(b"text/event-stream") for k, v in message["headers"]):
                    observe()
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            observe()


@dataclass(eq=False)  # a collector is registered by identity
class Readings:
    """What one scrape read from this process (gathered async, then exposed)."""

    gauges: list[tuple[str, str, dict[str, str], float]] = field(default_factory=list)
    counters: list[tuple[str, str, dict[str, str], float]] = field(default_factory=list)

    def gauge(self, name: str, doc: str, value: float, **labels: str) -> None:
        self.gauges.append((name, doc, labels, value))

    def counter(self, name: str, doc: str, value: float, **labels: str) -> None:
        self.counters.append((name, doc, labels, value))

    def collect(self) -> Iterator[Metric]:
        for kind, rows in ((GaugeMetricFamily, self.gauges), (CounterMetricFamily, self.counters)):
            families: dict[str, Any] = {}
            for name, doc, labels, value in rows:
                family = families.get(name)
                if family is None:
                    family = families[name] = kind(name, doc, labels=list(labels))
                family.add_metric(list(labels.values()), value)
            yield from families.values()


async def read(desk: Desk) -> Readings:
    out = Readings()
    _live(desk, out)
    _telephony(desk, out)
    _cluster(desk, out)
    _ivr(desk, out)
    await _asr(desk, out)
    return out


def _live(desk: Desk, out: Readings) -> None:
    """Per PBX: the provinces' PBXs have queues of the same name, each with callers of its own."""
    board = desk.board
    for server in board.pbx_names():
        snap = board.snapshot(pbx=server.__eq__)
        for queue in snap.queues:
            out.gauge("hotline_queue_waiting", "callers waiting in the queue", queue.waiting,
                      pbx=server, queue=queue.name)
            out.gauge("hotline_queue_longest_wait_seconds", "the longest wait in the queue now",
                      queue.longest_wait_seconds, pbx=server, queue=queue.name)
            for state in ("available", "on_call", "paused", "logged_in"):
                out.gauge("hotline_queue_agents", "queue members by state", getattr(queue, state),
                          pbx=server, queue=queue.name, state=state)
        for outcome in ("offered", "answered", "abandoned", "short_abandoned", "timeout", "exit_with_key",
                        "transferred", "unknown"):
            out.counter("hotline_calls", "today's calls (from local midnight; docs/metrics.md), by outcome",
                        getattr(snap.totals, outcome), pbx=server, outcome=outcome)
    out.gauge("hotline_live_stale", "1 while the live figures may be old (Redis or the leader away)",
              float(board.stale))


def _telephony(desk: Desk, out: Readings) -> None:
    for model in [desk.board.model, *(publisher.board.model for publisher in desk.publishers)]:
        for server, count in model.applied.items():
            out.counter("hotline_ami_events", "AMI events applied to the live model", count, pbx=server)
    client = getattr(desk.telephony, "_client", None)
    if client is None:
        return
    for name, connection in client.connections.items():
        out.gauge("hotline_ami_link_up", "1 while the AMI link is logged in and resynced",
                  float(connection.state == "ready"), pbx=name)
        out.counter("hotline_ami_reconnects", "AMI connections made after the first", max(0, connection.connects - 1),
                    pbx=name)


def _cluster(desk: Desk, out: Readings) -> None:
    for leadership in desk.leaderships:
        out.gauge("hotline_leader", "1 while this process leads the singleton", float(leadership.leading),
                  singleton=leadership.name)
        out.gauge("hotline_leader_epoch", "the singleton's term this process leads (0: standby)",
                  leadership.term.epoch if leadership.term else 0, singleton=leadership.name)
    for publisher in desk.publishers:
        out.counter("hotline_live_published", "live messages published to Redis", publisher.published,
                    source=publisher.source)
        out.gauge("hotline_live_publish_backlog", "changes waiting to be published", publisher.backlog(),
                  source=publisher.source)
    if desk.mirror is not None:
        stats = desk.mirror.stats
        out.gauge("hotline_redis_up", "1 while the live feed from Redis is followed", float(desk.mirror.board.redis_up))
        out.counter("hotline_live_gaps", "lost live messages repaired from the state", stats.gaps)
        out.counter("hotline_live_redis_reconnects", "times the Redis feed was lost", stats.reconnects)
        out.counter("hotline_live_events", "screen-pop events received", stats.events)


def _ivr(desk: Desk, out: Readings) -> None:
    if desk.ivr is None:
        return
    for (flow, result), count in desk.ivr.app.sessions.items():
        out.counter("hotline_ivr_sessions", "IVR sessions by flow and how they ended", count, flow=flow, result=result)


async def _asr(desk: Desk, out: Readings) -> None:
    if desk.asr is None:
        return
    since = utcnow() - timedelta(hours=1)
    async with desk.sessions() as session:
        backlog = await session.scalar(select(func.count()).select_from(TranscriptionJob).where(
            TranscriptionJob.state.in_([JobState.QUEUED, JobState.RUNNING])))
        finished = (await session.execute(select(TranscriptionJob.created_at, TranscriptionJob.finished_at).where(
            TranscriptionJob.finished_at >= since))).all()
    out.gauge("hotline_asr_backlog", "transcription jobs queued or running", float(backlog or 0))
    latencies = sorted((done - created).total_seconds() for created, done in finished if done and created)
    for quantile in (0.5, 0.95):
        value = latencies[min(len(latencies) - 1, int(quantile * len(latencies)))] if latencies else 0.0
        out.gauge("hotline_asr_job_latency_seconds", "queued to finished, jobs of the last hour", value,
                  quantile=str(quantile))


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    desk: Desk = request.app.state.desk
    readings = await read(desk)
    own = CollectorRegistry()
    own.register(readings)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    return Response(generate_latest(counted) + generate_latest(own), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", tags=["ops"])
async def healthz() -> dict[str, str]:
    """Alive: the process answers (restart it if not)."""
    return {"status": "ok"}


async def _check(probe: Callable[[], Awaitable[bool]]) -> bool:
    try:
        return await asyncio.wait_for(probe(), CHECK_TIMEOUT)
    except Exception:  # noqa: BLE001 — any failure of a dependency is "not ready", reported as such
        return False


def _checks(desk: Desk) -> dict[str, Callable[[], Awaitable[bool]]]:
    async def database() -> bool:
        async with desk.sessions() as session:
            return (await session.scalar(text("SELECT 1"))) == 1

    checks: dict[str, Callable[[], Awaitable[bool]]] = {"database": database}
    if desk.mirror is not None:
        board = desk.mirror.board

        async def redis_feed() -> bool:
            return board.redis_up

        checks["redis"] = redis_feed
    client = getattr(desk.telephony, "_client", None)
    if client is not None:  # this process leads its PBXs: their links must be up
        for name, connection in client.connections.items():
            async def link(connection: Any = connection) -> bool:
                return bool(connection.state == "ready")

            checks[f"ami:{name}"] = link
    for publisher in desk.publishers:
        async def publishing(publisher: Any = publisher) -> bool:
            return bool(publisher.healthy)

        checks[f"redis:{publisher.source}"] = publishing
    return checks


@router.get("/readyz", tags=["ops"], responses={503: {"description": "a dependency of this process's roles is down"}})
async def readyz(request: Request) -> JSONResponse:
    """Ready: every dependency of this process's roles answers (database; Redis for a split API or
    a telephony leader; the AMI links of the PBXs it leads). A standby is ready: it waits."""
    desk: Desk = request.app.state.desk
    checks = _checks(desk)
    results = dict(zip(checks, await asyncio.gather(*(_check(probe) for probe in checks.values())), strict=True))
    ready = all(results.values())
    return JSONResponse({"ready": ready, "checks": results}, status_code=200 if ready else 503)
