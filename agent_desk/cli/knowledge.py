"""`hotline kb`: operator commands over the knowledge base."""

from __future__ import annotations

import asyncio

import typer

from agent_desk.cli.app import app, settings
from ticketing.db import make_engine, make_session_factory
from ticketing.knowledge import KnowledgeBase

kb_app = typer.Typer(no_args_is_help=True, help="The knowledge base (知识库).")
app.add_typer(kb_app, name="kb")


@kb_app.command()
def reindex() -> None:
    """Segment every article again with the installed jieba (after upgrading it) and update the index."""
    config = settings()

    async def run() -> int:
        engine = make_engine(config.db.url)
        try:
            return await KnowledgeBase.from_settings(make_session_factory(engine), config.ticketing).reindex()
        finally:
            await engine.dispose()

    typer.echo(f"articles re-segmented: {asyncio.run(run())}")
