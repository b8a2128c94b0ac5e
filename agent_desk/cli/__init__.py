"""The `hotline` command line. Each module registers its commands on the shared app."""

from agent_desk.cli import (  # noqa: F401  (registers commands)
    ami,
    asr,
    db,
    ivr,
    knowledge,
    serve,
    ticketing,
    users,
)
from agent_desk.cli.app import app

__all__ = ["app"]
