"""`hotline serve`: the whole product in one process."""

from __future__ import annotations

import typer
import uvicorn

from agent_desk.app import create_app
from agent_desk.cli.app import app, settings


@app.command()
def serve(
    host: str | None = typer.Option(None, help="bind address (default: desk.host)"),
    port: int | None = typer.Option(None, help="port (default: desk.port)"),
) -> None:
    """Run the API, and whatever adapters the settings enable, in one process."""
    config = settings()
    uvicorn.run(create_app(config), host=host or config.desk.host, port=port or config.desk.port,
                log_level="info")
