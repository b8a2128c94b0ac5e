"""`hotline db upgrade` and `hotline seed`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from agent_desk.cli.app import app, settings
from ticketing.db import make_engine, make_session_factory
from ticketing.migrations.runner import upgrade
from ticketing.seed import seed_reference_data

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database to REVISION (default: the latest)."""
    url = settings().db.url
    _ensure_sqlite_dir(url)
    upgrade(url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def seed(
    demo_users: bool = typer.Option(False, "--demo-users", help="also demo users (passwords printed once) and tickets"),
) -> None:
    """Load regions and handling units idempotently: running it twice changes nothing."""
    config = settings()

    async def run() -> None:
        engine = make_engine(config.db.url)
        try:
            report = await seed_reference_data(make_session_factory(engine), config.ticketing.province_code)
        finally:
            await engine.dispose()
        typer.echo(
            f"regions: +{report.regions_added} ~{report.regions_updated}; "
            f"units: +{report.units_added} ~{report.units_updated}"
            + ("" if report.changed else " (nothing changed)")
        )
        if demo_users:
            from agent_desk.demo import seed_demo

            await seed_demo(config)

    asyncio.run(run())
