"""Operator commands for the AMI adapter: replay a capture, import queue_log, watch a live PBX."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agent_desk.cli.app import app, emit_json, settings
from ami.calldata import CallData
from ami.client import AmiClient
from ami.clock import StreamClock
from ami.errors import AmiAuthError
from ami.model import LiveModel
from ami.queue_log import import_queue_log, parse_queue_log
from ami.queue_log_table import QueueLogTableError
from ami.reconcile import QueueLogSource, ended, queue_log_source
from ami.replay import MAIN, ReplaySource
from ticketing.call_kpis import CallKpiReport, compute_call_kpis
from ticketing.calls import CallStore
from ticketing.db import make_engine, make_session_factory

ami_app = typer.Typer(no_args_is_help=True, help="Asterisk Manager Interface: queues and call records.")
app.add_typer(ami_app, name="ami")
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def _kpis(calls: list[CallData]) -> CallKpiReport:
    return compute_call_kpis([c.record_fields() for c in calls], settings=settings().desk.supervision.call_kpis())


def _print_calls(calls: list[CallData], kpis: CallKpiReport, console: Console) -> None:
    table = Table(title=f"{len(calls)} calls")
    for column in ("linkedid", "caller", "queue", "outcome", "wait", "agent", "talk", "ivr"):
        table.add_column(column)
    for call in calls:
        r = call.record_fields()
        table.add_row(call.linkedid, r["caller_number"] or "", r["queue"] or "", call.outcome.value,
                      f"{r['wait_seconds']:.0f}" if r["wait_seconds"] is not None else "",
                      r["agent"] or "", f"{r['talk_seconds']:.0f}" if r["talk_seconds"] is not None else "",
                      r["ivr_path"] or r["ivr_result"] or "")
    console.print(table)
    summary = Table(title="KPIs (docs/metrics.md): calls overall, queue legs per queue")
    for column in ("scope", "offered", "answered", "abandoned", "timeout", "key exit", "transferred",
                   "answer rate", "≤15 s", "SL", "ASA", "AHT"):
        summary.add_column(column)

    def pct(value: float | None) -> str:
        return "" if value is None else f"{100 * value:.1f}%"

    for scope, row in [("all", kpis.overall), *kpis.queues.items()]:
        summary.add_row(scope, str(row.offered), str(row.answered), str(row.abandoned), str(row.timeout),
                        str(row.exit_with_key), str(row.transferred), pct(row.answer_rate),
                        pct(row.answered_within_15s_rate), pct(row.service_level),
                        f"{row.asa_seconds or 0:.1f}", f"{row.aht_seconds or 0:.1f}")
    console.print(summary)


@ami_app.command()
def replay(
    capture: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="<name>.recv or .jsonl")],
    server: Annotated[str, typer.Option(help="server name for the records")] = "replay",
    connection: Annotated[list[str] | None, typer.Option(
        help="a journal's connections to feed, in the order read (repeat: --connection main "
             "--connection after replays a reconnect); default: main")] = None,
    json: JsonOption = False,
) -> None:
    """Feed a recorded AMI byte stream through the live parser and model; print calls and KPIs.

    The KPIs count every call the capture shows, the ones still open at its end included."""
    finished: dict[tuple[str, str], CallData] = {}

    def keep(call: CallData) -> None:
        if call.final:
            finished[call.key] = call

    model = LiveModel(clock=StreamClock(), on_call=keep)
    source = ReplaySource(capture, model, server=server, connections=connection or (MAIN,))
    source.feed_all()
    calls = sorted(finished.values(), key=lambda c: (c.started_at or c.ended_at, c.linkedid))
    kpis = _kpis(calls + model.open_calls())
    if json:
        emit_json({"calls": [c.to_dict() for c in calls], "kpis": kpis.model_dump(mode="json"),
                   "agents": model.agents.report(model.clock()),
                   "open_calls": [c.to_dict() for c in model.open_calls()],
                   "snapshot": model.snapshot().to_dict(),
                   "parser": vars(source.parser.stats)})
        return
    _print_calls(calls, kpis, Console())


@ami_app.command("import-queue-log")
def import_queue_log_command(
    path: Annotated[Path | None, typer.Argument(
        exists=True, dir_okay=False,
        help="Asterisk queue_log (default: the server's own, its queue_log file or queue_log_table)")] = None,
    server: Annotated[str | None, typer.Option(help="server name (default: the first configured)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="parse and report, store nothing")] = False,
    json: JsonOption = False,
) -> None:
    """Backfill call records from queue_log: calls the AMI client never stored, or could not finish.
    A call it saw to the end keeps what it knew. A call queue_log has no end for (still in a queue or
    talking, or its end never written) is counted, not stored. Idempotent: importing twice changes nothing."""
    config = settings()
    name = server or (config.ami.servers[0].name if config.ami.servers else "asterisk")
    if path is not None:
        result, where = import_queue_log(path, server=name), str(path)
    else:
        configured = next((s for s in config.ami.servers if s.name == name), None)
        source = queue_log_source(configured) if configured is not None else None
        if source is None:
            typer.echo(f"server {name!r} has no queue_log nor queue_log_table ([[ami.servers]]): "
                       "give the queue_log file", err=True)
            raise typer.Exit(2)
        try:
            result = parse_queue_log(asyncio.run(_read_all(source)), server=name)
        except (OSError, QueueLogTableError) as exc:
            typer.echo(f"queue_log unreadable ({source.describe}): {exc}", err=True)
            raise typer.Exit(1) from None
        where = source.describe
    done = [call for call in result.calls if ended(call)]
    stored = 0
    if not dry_run:
        stored = asyncio.run(_store(config.db.url, [c.record_fields() for c in done]))
    report = {"server": name, "lines": result.lines, "skipped": result.skipped,
              "calls": len(result.calls), "without_end": len(result.calls) - len(done), "stored": stored,
              "kpis": _kpis(result.calls).overall.model_dump(mode="json"),
              "agents": result.agents.report(result.last_time) if result.last_time else []}
    if json:
        emit_json(report)
    else:
        typer.echo(f"{where}: {result.lines} lines, {len(result.calls)} calls for server {name!r}, "
                   f"{stored} stored, {len(result.calls) - len(done)} without an end left alone "
                   f"({result.skipped} lines skipped)")


async def _read_all(source: QueueLogSource) -> list[str]:
    try:
        return await source.lines_since(datetime.fromtimestamp(0, UTC))
    finally:
        await source.close()


async def _store(url: str, rows: list[dict[str, Any]]) -> int:
    engine = make_engine(url)
    try:
        return await CallStore(make_session_factory(engine)).backfill(rows)
    finally:
        await engine.dispose()


@ami_app.command()
def status(
    timeout: Annotated[float, typer.Option(help="seconds to wait for every server")] = 10.0,
    json: JsonOption = False,
) -> None:
    """Connect with the configured [ami] servers and print the queues and members live."""
    config = settings().ami
    if not config.servers:
        typer.echo("no AMI servers configured ([ami] servers)", err=True)
        raise typer.Exit(2)
    try:
        snapshot, states = asyncio.run(_status(config, timeout))
    except AmiAuthError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if json:
        emit_json({"servers": states, **snapshot.to_dict()})
        return
    console = Console()
    console.print(f"servers: {states}")
    for queue in snapshot.queues:
        table = Table(title=f"{queue.server}/{queue.name}: {len(queue.callers)} waiting, "
                            f"longest {queue.longest_wait_seconds:.0f}s, completed "
                            f"{queue.params.completed}, abandoned {queue.params.abandoned}, "
                            f"SL {queue.params.service_level_perf}%")
        for column in ("member", "interface", "status", "paused", "calls"):
            table.add_column(column)
        for m in queue.members:
            table.add_row(m.name, m.interface, m.status.value,
                          (m.paused_reason or "yes") if m.paused else "", str(m.calls_taken))
        console.print(table)


async def _status(config: Any, timeout: float) -> tuple[Any, dict[str, str]]:
    client = AmiClient(config)
    await client.start()
    try:
        waiter = asyncio.create_task(client.wait_ready(timeout))
        failures = [asyncio.ensure_future(c._task) for c in client.connections.values() if c._task]
        done, _ = await asyncio.wait({waiter, *failures}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        waiter.cancel()
        return client.snapshot(), client.status()
    finally:
        await client.stop()
