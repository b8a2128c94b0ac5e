"""Serving stored files (call recordings, citizens' photos) from their own folder only."""

from __future__ import annotations

from pathlib import Path


def file_under(root: Path, stored: str | Path | None) -> Path | None:
    """The stored path as a file inside `root` (relative paths are taken from `root`; links are
    resolved), or None: a database row never makes the desk serve a file from anywhere else."""
    if not stored:
        return None
    try:
        base = root.resolve()
        path = (base / stored).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    return path if path.is_relative_to(base) and path.is_file() else None
