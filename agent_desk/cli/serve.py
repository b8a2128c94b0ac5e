"""`hotline serve`: the whole product in one process."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import typer
import uvicorn

from agent_desk.app import create_app
from agent_desk.cli.app import app, settings
from agent_desk.live.fanout import MirrorBoard
from agent_desk.live.replay import bundled_capture
from agent_desk.logs import configure_logging
from agent_desk.roles import ALL_ROLES, RoleError, parse_roles
from agent_desk.wiring import adapter_parts

log = logging.getLogger(__name__)  # what serve says goes through the same lines (json under systemd)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="bind address (default: desk.host)"),
    port: int | None = typer.Option(None, help="port (default: desk.port)"),
    replay: Path | None = typer.Option(
        None, "--replay", exists=True, dir_okay=False,
        help="feed this recorded AMI capture (.jsonl or .recv) into the live model instead of a PBX; "
             "default without [ami] servers: the bundled capture"),
    speed: float = typer.Option(1.0, "--speed", min=0.01, max=1000, help="replay speed (2 = twice as fast)"),
    no_replay: bool = typer.Option(False, "--no-replay", help="without a PBX, show an idle board instead"),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="API worker processes; above 1 they serve the API only (no adapters, "
                                     "replay or SLA sweep: run those in one more single-worker serve)"),
    role: list[str] = typer.Option(
        [], "--role", help="run only this role (repeatable): api, telephony, ivr, asr, sweep; default: all of "
                           "them in one process. Roles need PostgreSQL and Redis (docs/architecture.md)"),
) -> None:
    """Run the API, and whatever adapters the settings enable, in one process (or only its --role parts)."""
    config = settings()
    try:
        roles = parse_roles(role, config.db.url)
    except RoleError as exc:
        raise typer.BadParameter(str(exc), param_hint="--role") from None
    level = config.desk.log_level
    logging_config = configure_logging(level, config.desk.log_format)
    if workers > 1 and roles != ALL_ROLES:
        raise typer.BadParameter("--workers runs API-only processes; use it without --role", param_hint="--workers")
    if workers > 1:
        # Counters and latencies summed over the workers, whichever answers a scrape (agent_desk.metrics).
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="hotline-metrics-"))
        log.info("%d API-only workers (adapters, replay and the SLA sweep are off here)", workers)
        uvicorn.run("agent_desk.asgi:api_only", factory=True, workers=workers, host=host or config.desk.host,
                    port=port or config.desk.port, log_config=logging_config, log_level=level.lower(),
                    proxy_headers=False, server_header=False,
                    # a worker starting on a busy host is slow, not dead (uvicorn's default: 5 s)
                    timeout_worker_healthcheck=60)
        return
    chosen = replay_source(replay, config.desk.replay.file, pbx_configured=bool(config.ami.servers),
                           no_replay=no_replay or "telephony" not in roles)
    config = config.model_copy(update={"desk": config.desk.model_copy(update={
        "replay": config.desk.replay.model_copy(update={
            "file": chosen, "speed": speed if replay is not None or speed != 1.0 else config.desk.replay.speed})})})
    if chosen is not None:
        log.info("replaying %s at %gx instead of a PBX (the wallboard says REPLAY)", chosen.name,
                 config.desk.replay.speed)
    # The desk reads X-Forwarded-For itself, from `desk.auth.trusted_proxies` only: uvicorn's own
    # proxy handling would believe it from any loopback peer.
    if roles != ALL_ROLES:
        log.info("roles: %s", ", ".join(sorted(roles)))
    sup = config.desk.supervision
    mirrored = roles != ALL_ROLES and "api" in roles
    app = create_app(config, parts=adapter_parts(config, roles), run_sweep="sweep" in roles, api="api" in roles,
                     board=MirrorBoard(kpis=sup.call_kpis(), cities=config.ami.cities()) if mirrored else None,
                     settle_heap=True)
    uvicorn.run(app, host=host or config.desk.host,
                port=port or config.desk.port, log_config=logging_config, log_level=level.lower(),
                proxy_headers=False, server_header=False)




def replay_source(cli_file: Path | None, configured: Path | None, *, pbx_configured: bool,
                  no_replay: bool) -> Path | None:
    """Which capture to replay: `--replay` wins; then a configured PBX (no replay); then the
    configured file; then the bundled capture. `--no-replay` turns replay off."""
    if no_replay:
        return None
    if cli_file is not None:
        return cli_file
    if pbx_configured:
        return None
    return configured or bundled_capture()
