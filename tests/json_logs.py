"""What a logger writes while a block runs, rendered as `hotline serve` renders it in json mode."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agent_desk.logs import json_formatter


@contextmanager
def json_lines(name: str, level: int = logging.DEBUG) -> Iterator[list[dict[str, Any]]]:
    """The lines of logger `name` (and below) at `level`, parsed: filled in when the block ends."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    logger = logging.getLogger(name)
    before = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())
