"""`hotline serve`: the whole product in one process."""

from __future__ import annotations

from pathlib import Path

import typer
import uvicorn

from agent_desk.app import create_app
from agent_desk.cli.app import app, settings
from agent_desk.live.replay import bundled_capture
from agent_desk.wiring import adapter_parts


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
) -> None:
    """Run the API, and whatever adapters the settings enable, in one process."""
    config = settings()
    if workers > 1:
        typer.echo(f"{workers} API-only workers (adapters, replay and the SLA sweep are off here)")
        uvicorn.run("agent_desk.asgi:api_only", factory=True, workers=workers, host=host or config.desk.host,
                    port=port or config.desk.port, log_level="warning")
        return
    chosen = replay or config.desk.replay.file
    if chosen is None and not config.ami.servers and not no_replay:
        chosen = bundled_capture()
    if chosen is not None and not no_replay:
        if config.ami.servers and replay is None:
            chosen = None  # a configured PBX wins over a configured replay file
        else:
            config = config.model_copy(update={"desk": config.desk.model_copy(update={
                "replay": config.desk.replay.model_copy(update={"file": chosen, "speed": speed})})})
            typer.echo(f"no PBX: replaying {chosen.name} at {speed:g}x (the wallboard says REPLAY)")
    uvicorn.run(create_app(config, parts=adapter_parts(config)), host=host or config.desk.host,
                port=port or config.desk.port, log_level="info")


