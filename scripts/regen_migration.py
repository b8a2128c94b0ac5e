"""Regenerate the single initial migration from the models (the schema has not shipped yet).

Autogenerates against an empty SQLite database, so the result is deterministic.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from ticketing.migrations.runner import alembic_config

VERSIONS = Path(__file__).resolve().parents[1] / "ticketing" / "migrations" / "versions"

for old in VERSIONS.glob("0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    config = alembic_config(f"sqlite+aiosqlite:///{tmp}/empty.db")
    command.revision(config, message="initial schema", autogenerate=True, rev_id="0001",
                     version_path=str(VERSIONS))
for path in VERSIONS.glob("0001_*.py"):
    path.rename(VERSIONS / "0001_initial.py")
print("wrote", VERSIONS / "0001_initial.py")
