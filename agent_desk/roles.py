"""What one `hotline serve` process runs: its roles (docs/architecture.md, "Process layout").

- `api`: the HTTP API, the pages and the SSE streams; any number of processes.
- `telephony`: the AMI connections, the live model and the call-record writer (one leader per PBX set).
- `ivr`: the FastAGI server.
- `asr`: the Vosk workers.
- `sweep`: the SLA sweep (one leader).

No role named: all of them in one process (`make run`). Naming roles splits the product over
processes, which share PostgreSQL and Redis; on SQLite the product stays one process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from ticketing.db import is_sqlite

Role = Literal["api", "telephony", "ivr", "asr", "sweep"]
ALL_ROLES: frozenset[Role] = frozenset(get_args(Role))


class RoleError(ValueError):
    """Roles this deployment cannot run (unknown, or split over processes on SQLite)."""


def parse_roles(names: Iterable[str], db_url: str) -> frozenset[Role]:
    """The roles of this process: every role when none is named; named roles need PostgreSQL."""
    wanted = [name.strip().lower() for name in names if name.strip()]
    if not wanted:
        return ALL_ROLES
    unknown = sorted(set(wanted) - ALL_ROLES)
    if unknown:
        raise RoleError(f"unknown role {', '.join(unknown)}: choose from {', '.join(sorted(ALL_ROLES))}")
    if is_sqlite(db_url):
        raise RoleError("--role splits the product over processes, which needs PostgreSQL (and Redis); on "
                        "SQLite the product runs as one process: drop --role, or set db.url to PostgreSQL")
    return frozenset(name for name in ALL_ROLES if name in wanted)
