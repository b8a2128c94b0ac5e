"""The `hotline` command line. Each module registers its commands on the shared app."""

from agent_desk.cli import db, serve, ticketing  # noqa: F401  (registers commands)
from agent_desk.cli import ami  # noqa: F401  (registers commands)
from agent_desk.cli import users  # noqa: F401
from agent_desk.cli import ivr  # noqa: F401
from agent_desk.cli import asr  # noqa: F401
from agent_desk.cli.app import app

__all__ = ["app"]
