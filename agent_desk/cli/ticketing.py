"""Operator commands over the ticketing core: regions, SLA deadlines, routing, ticket KPIs."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from agent_desk.cli.app import app, emit_json, settings
from agent_desk.settings import Settings
from ticketing import call_rollups, rollups
from ticketing.call_kpis import RollupBasis
from ticketing.db import make_engine, make_session_factory
from ticketing.errors import RoutingError
from ticketing.kpi import Dimension, KpiFilter, TicketKpi, ticket_kpis
from ticketing.models import CallRollup, Region, TicketRollup, utcnow
from ticketing.routing import RoutingRequest
from ticketing.service import TicketService
from ticketing.worktime import FALLBACK

sla_app = typer.Typer(no_args_is_help=True, help="SLA clocks on working time.")
route_app = typer.Typer(no_args_is_help=True, help="Routing decisions.")
kpi_app = typer.Typer(no_args_is_help=True, help="Key performance indicators.")
app.add_typer(sla_app, name="sla")
app.add_typer(route_app, name="route")
app.add_typer(kpi_app, name="kpi")

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


@app.command()
def regions(
    under: Annotated[str | None, typer.Option(help="only this region and what lies under it")] = None,
    json: JsonOption = False,
) -> None:
    """Print the region tree from the database (run `hotline seed` first)."""
    config = settings()

    async def load() -> list[Region]:
        engine = make_engine(config.db.url)
        try:
            async with make_session_factory(engine)() as session:
                return list(await session.scalars(select(Region).order_by(Region.code)))
        finally:
            await engine.dispose()

    rows = asyncio.run(load())
    children: dict[str | None, list[Region]] = {}
    for region in rows:
        children.setdefault(region.parent_code, []).append(region)
    roots = [r for r in rows if r.code == under] if under else children.get(None, [])
    if under and not roots:
        typer.echo(f"no region {under}", err=True)
        raise typer.Exit(1)

    def as_dict(region: Region) -> dict[str, object]:
        return {"code": region.code, "name": region.name, "level": region.level.value,
                "kind": region.kind, "children": [as_dict(c) for c in children.get(region.code, [])]}

    if json:
        emit_json([as_dict(r) for r in roots])
        return

    def grow(node: Tree, region: Region) -> None:
        branch = node.add(f"{region.code} {region.name} [dim]{region.kind}[/dim]")
        for child in children.get(region.code, []):
            grow(branch, child)

    tree = Tree("regions")
    for root in roots:
        grow(tree, root)
    Console().print(tree)


def _parse_instant(value: str, tz: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        from zoneinfo import ZoneInfo

        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment


def _live(config: Settings) -> TicketService:
    """The ticket service's calendar and routing as every process has them now: the settings with
    the administrators' entries from the database (/admin)."""

    async def load() -> TicketService:
        engine = make_engine(config.db.url)
        try:
            service = TicketService.from_settings(make_session_factory(engine), config.ticketing)
            await service.refresh()
            return service
        finally:
            await engine.dispose()

    try:
        return asyncio.run(load())
    except DBAPIError as exc:
        where = make_url(config.db.url).render_as_string(hide_password=True)
        typer.echo(f"error: cannot read the administrators' calendar and routing rules from {where} "
                   f"({exc.orig}); run `hotline db upgrade`", err=True)
        raise typer.Exit(1) from None


@sla_app.command("due")
def sla_due(
    start: Annotated[str, typer.Option("--from", help="ISO 8601 start; local time if no zone given")],
    hours: Annotated[float | None, typer.Option(help="working hours to add")] = None,
    days: Annotated[float | None, typer.Option(help="working days to add")] = None,
    json: JsonOption = False,
) -> None:
    """Print the deadline N working hours or days after a start, and the calendar used."""
    if (hours is None) == (days is None):
        raise typer.BadParameter("give exactly one of --hours or --days")
    config = settings().ticketing
    policy = _live(settings()).sla
    moment = _parse_instant(start, config.calendar.timezone)
    worktime = policy.worktime
    due = worktime.add_hours(moment, hours) if hours is not None else worktime.add_days(moment, days or 0)
    local_due = due.astimezone(worktime.tz)
    days_spanned = {moment.astimezone(worktime.tz).date(), local_due.date()}
    sources = sorted({worktime.calendar.source(d) for d in days_spanned})
    office_hours = [f"{h.start:%H:%M}-{h.end:%H:%M}" for h in config.calendar.office_hours]
    result = {
        "from": moment.isoformat(), "hours": hours, "days": days,
        "due": local_due.isoformat(), "due_utc": due.astimezone(UTC).isoformat(),
        "timezone": config.calendar.timezone,
        "office_hours": office_hours,
        "calendar": sources,
    }
    if json:
        emit_json(result)
        return
    typer.echo(f"due {result['due']}  ({result['due_utc']})")
    typer.echo(f"office hours {', '.join(office_hours)} {config.calendar.timezone}; "
               f"calendar: {', '.join(sources)}")
    if FALLBACK in sources:
        # The calendar line above already names the fallback's rule; say what to do about it.
        typer.echo("warning: chinese-calendar lacks this year; enter the State Council's notice on /admin "
                   "(工作日历 Working calendar) or list its holidays in ticketing.calendar", err=True)


@route_app.command("explain")
def route_explain(
    region: Annotated[list[str], typer.Option("--region", help="the place; repeat for involved regions")],
    dept: Annotated[list[str] | None,
                    typer.Option("--dept", help="department type; province:TYPE for provincial")] = None,
    caller_area: Annotated[str | None, typer.Option(help="region code of the caller's area")] = None,
    category: Annotated[str | None, typer.Option()] = None,
    json: JsonOption = False,
) -> None:
    """Print the routing decision for a place (the first --region) and its reasons."""
    table = _live(settings()).routing
    request = RoutingRequest(region[0] if region else None, category, tuple(dept or ()),
                             tuple(region[1:]), caller_area)
    try:
        decision = table.route(request)
    except RoutingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    result = {"lead_unit_id": decision.lead_unit_id, "co_handler_ids": list(decision.co_handler_ids),
              "level": decision.level.value, "rule": decision.rule, "reasons": list(decision.reasons)}
    if json:
        emit_json(result)
        return
    typer.echo(f"lead:        {decision.lead_unit_id}  ({decision.level.value})")
    typer.echo(f"co-handlers: {', '.join(decision.co_handler_ids) or '-'}")
    for reason in decision.reasons:
        typer.echo(f"  because {reason}")


@kpi_app.command("tickets")
def kpi_tickets(
    by: Annotated[Dimension | None, typer.Option(help="break down by")] = None,
    since: Annotated[str | None, typer.Option(help="only tickets created on or after this date")] = None,
    json: JsonOption = False,
) -> None:
    """On-time sign-off and completion, satisfaction, lights and handling time, from SQL."""
    config = settings()
    tz = config.ticketing.calendar.timezone
    start = _parse_instant(since, tz) if since else None
    if since and len(since) == 10:
        start = _parse_instant(datetime.combine(date.fromisoformat(since), time()).isoformat(), tz)

    async def load() -> list[TicketKpi]:
        engine = make_engine(config.db.url)
        try:
            async with make_session_factory(engine)() as session:
                return await ticket_kpis(session, now=datetime.now(UTC), by=by, where=KpiFilter(since=start))
        finally:
            await engine.dispose()

    rows = asyncio.run(load())
    if json:
        emit_json([row.model_dump() for row in rows])
        return
    # The columns are the KPIs' own fields, titled as `TicketKpi` defines them.
    table = Table("key", *(field.title or name for name, field in _SHOWN.items()))
    for row in rows:
        table.add_row(row.key or "all", *(_cell(name, getattr(row, name)) for name in _SHOWN))
    Console().print(table)


@kpi_app.command("rebuild")
def kpi_rebuild() -> None:
    """Recompute the KPI roll-ups: the tickets' from the tickets, the calls' from the call records
    with the configured thresholds. After data was loaded or repaired behind the ticket service's or
    the call store's back (they keep them themselves), or the thresholds or the calendar's zone changed."""
    config = settings()
    offset = datetime.now(ZoneInfo(config.ticketing.calendar.timezone)).utcoffset()
    hours = int(offset.total_seconds() // 3600) if offset else 0
    thresholds = config.desk.supervision.call_kpis()
    basis = RollupBasis(hours, thresholds.service_level_seconds, thresholds.short_abandon_seconds)

    async def run() -> tuple[int, int]:
        engine = make_engine(config.db.url)
        try:
            async with engine.begin() as conn:
                await rollups.rebuild(conn, hours, utcnow())
                await call_rollups.rebuild(conn, basis)
                tickets, calls = [int(await conn.scalar(select(func.count()).select_from(table)) or 0)
                                  for table in (TicketRollup, CallRollup)]
                return tickets, calls
        finally:
            await engine.dispose()

    tickets, calls = asyncio.run(run())
    typer.echo(f"roll-up rows: {tickets} ticket (days), {calls} call (hours), at UTC{hours:+d}")


_SHOWN = {name: TicketKpi.model_fields[name] for name in (
    "total", "on_time_sign_off_rate", "on_time_completion_rate", "satisfaction_rate", "green", "yellow", "red",
    "avg_handling_seconds")}


def _cell(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if name.endswith("_rate"):
        return f"{value * 100:.1f}%"
    if name.endswith("_seconds"):
        return f"{value / 3600:.1f} h"
    return str(value)
